// A tiny program that uses courier the way a downstream project would: one
// in-process request-reply call, blocking form, from a thread that does not
// run the io_context.
#include <courier/courier.hpp>
#include <courier/inproc.hpp>

#include <boost/asio/io_context.hpp>

#include <string>
#include <thread>

int main() {
    boost::asio::io_context ioc;
    auto work = boost::asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run(); });

    courier::inproc::network net;
    courier::inproc::server srv(net, ioc.get_executor());
    srv.bind<std::string, std::string>("echo", [](const std::string& s, courier::context&) { return s + "!"; });
    courier::inproc::client<std::string, std::string> echo(
        courier::inproc::channel<std::string, std::string>(ioc.get_executor(), net, "echo"));

    courier::error_code ec;
    auto reply = echo.call("hi", ec);
    work.reset();
    srv.close();
    runner.join();
    return !ec && reply == "hi!" ? 0 : 1;
}
