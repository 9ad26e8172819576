// A child process (a Node peer) whose standard output a test reads line by
// line through an io_context, so it can wait with run_until for a line or
// for the exit while courier's own operations run on the same context.
// Standard error is inherited: the peer's complaints land in the test log.
// Destroying a process that still runs kills it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace courier_test {

class child_process {
public:
    /// Starts argv[0] (a path) with the arguments argv[1...].
    child_process(boost::asio::io_context& ioc, const std::vector<std::string>& argv)
        : state_(std::make_shared<state>(ioc)) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const int rc = ::posix_spawn(&state_->pid, args[0], &actions, nullptr, args.data(), environ);
        ::posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv[0]);
        }
        state_->out.assign(fds[0]);
        read(state_);
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (!state_->exited && state_->pid > 0) {
            ::kill(state_->pid, SIGKILL);
            int status = 0;
            ::waitpid(state_->pid, &status, 0);
            state_->exited = true;
        }
        boost::system::error_code ignored;
        state_->out.close(ignored);
    }

    /// Its standard output so far, a line each (without the newline).
    const std::vector<std::string>& lines() const noexcept { return state_->lines; }
    /// Whether a line starting with `prefix` came.
    bool printed(std::string_view prefix) const {
        for (const auto& l : state_->lines)
            if (l.starts_with(prefix)) return true;
        return false;
    }
    /// The lines after `prefix` of those that start with it.
    std::vector<std::string> values(std::string_view prefix) const {
        std::vector<std::string> out;
        for (const auto& l : state_->lines)
            if (l.starts_with(prefix)) out.push_back(l.substr(prefix.size()));
        return out;
    }
    /// Whether it has closed its output and exited.
    bool exited() const noexcept { return state_->exited; }
    /// Its exit status (-1 when a signal ended it); valid once exited().
    int exit_code() const noexcept { return state_->code; }

private:
    struct state {
        explicit state(boost::asio::io_context& ioc) : out(ioc) {}
        boost::asio::posix::stream_descriptor out;
        std::string buffer;
        std::vector<std::string> lines;
        pid_t pid = -1;
        bool exited = false;
        int code = -1;
    };

    static void read(std::shared_ptr<state> s) {
        auto& out = s->out;
        boost::asio::async_read_until(out, boost::asio::dynamic_buffer(s->buffer), '\n',
                                      [s](boost::system::error_code ec, std::size_t n) {
                                          if (!ec) {
                                              s->lines.push_back(s->buffer.substr(0, n - 1));
                                              s->buffer.erase(0, n);
                                              return read(s);
                                          }
                                          if (ec == boost::asio::error::operation_aborted || s->exited) return;
                                          // End of its output: it is exiting (or has).
                                          if (!s->buffer.empty()) s->lines.push_back(std::exchange(s->buffer, {}));
                                          int status = 0;
                                          if (::waitpid(s->pid, &status, 0) == s->pid && WIFEXITED(status))
                                              s->code = WEXITSTATUS(status);
                                          s->exited = true;
                                      });
    }

    std::shared_ptr<state> state_;
};

}  // namespace courier_test
