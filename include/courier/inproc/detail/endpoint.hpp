// A server's binding of one handler to one endpoint name, type-erased so the
// registry can hold endpoints of every request and response type.
#ifndef COURIER_INPROC_DETAIL_ENDPOINT_HPP
#define COURIER_INPROC_DETAIL_ENDPOINT_HPP

#include <courier/codec.hpp>
#include <courier/detail/invoke_handler.hpp>
#include <courier/detail/serial_executor.hpp>
#include <courier/detail/spinlock.hpp>
#include <courier/error.hpp>
#include <courier/inproc/detail/call_op.hpp>
#include <courier/message.hpp>
#include <courier/propagation.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <optional>

#include <memory>
#include <mutex>
#include <typeinfo>

namespace courier::inproc::detail {

class endpoint_base {
public:
    /// `observes_cancellation`: the handler is a coroutine or a service,
    /// which receive the caller's cancellation.
    endpoint_base(const std::type_info& req, const std::type_info& rep, boost::asio::any_io_executor ex,
                  bool observes_cancellation)
        : request_type(req),
          response_type(rep),
          executor(std::move(ex)),
          needs_strand(observes_cancellation && !courier::detail::runs_serially(executor)) {
        if (auto* concrete = executor.target<boost::asio::io_context::executor_type>()) io_executor = *concrete;
    }

    /// Posts `f` to the server's executor, avoiding the type-erased path
    /// when it is an io_context's.
    template <class F>
    void post(F&& f) const {
        if (io_executor) boost::asio::post(*io_executor, std::forward<F>(f));
        else boost::asio::post(executor, std::forward<F>(f));
    }
    virtual ~endpoint_base() = default;

    /// Starts a call that arrives encoded, as it would over a wire.
    /// `self` is this endpoint: the job holds it, no second count needed.
    virtual void start_wire(std::shared_ptr<endpoint_base> self, pending_call<message, message>* call) = 0;

    const std::type_info& request_type;
    const std::type_info& response_type;
    const boost::asio::any_io_executor executor;
    /// Whether a call that can be cancelled runs its handler on a strand of
    /// `executor`, where the cancellation is emitted: Asio's cancellation
    /// slots must not be emitted while the handler assigns or clears them.
    const bool needs_strand;
    std::optional<boost::asio::io_context::executor_type> io_executor;
};

/// Typed entry point: the caller passes values, no codec involved.
template <class Req, class Rep>
class typed_endpoint : public endpoint_base {
public:
    using endpoint_base::endpoint_base;
    virtual void start(std::shared_ptr<endpoint_base> self, pending_call<Req, Rep>* call) = 0;
};

/// Where a channel finds the endpoint bound to its name. Created on first use
/// and kept, so a channel resolves its name once and a server can bind later.
struct endpoint_slot {
    std::shared_ptr<endpoint_base> get() const {
        std::lock_guard lock(mutex);
        return current;
    }
    mutable courier::detail::spinlock mutex;
    std::shared_ptr<endpoint_base> current;
};

template <class Req, class Rep, class Handler, class Codec>
class endpoint final : public typed_endpoint<Req, Rep> {
public:
    endpoint(Handler h, Codec codec, boost::asio::any_io_executor ex)
        : typed_endpoint<Req, Rep>(typeid(Req), typeid(Rep), std::move(ex),
                                   courier::detail::handler_kind_of<Handler, Req, Rep> !=
                                       courier::detail::handler_kind::function),
          handler_(std::move(h)),
          codec_(std::move(codec)) {}

    void start(std::shared_ptr<endpoint_base> self, pending_call<Req, Rep>* call) override {
        post_job(std::move(self), call);
    }
    void start_wire(std::shared_ptr<endpoint_base> self, pending_call<message, message>* call) override {
        // A message handler reached as over a wire gets the context the
        // caller injected; the typed path below does not extract it.
        if constexpr (std::is_same_v<Req, message> && std::is_same_v<Rep, message>) call->ctx = extract(call->request);
        post_job(std::move(self), call);
    }

private:
    // Runs on the server's executor. If the executor is destroyed before the
    // job runs, the caller still hears back (endpoint_closed), never hangs.
    template <class Call>
    struct job {
        std::shared_ptr<endpoint> self;
        Call* call;
        void operator()() { self->run(std::move(self), std::exchange(call, nullptr)); }
        job(std::shared_ptr<endpoint> s, Call* c) noexcept : self(std::move(s)), call(c) {}
        job(job&& o) noexcept : self(std::move(o.self)), call(std::exchange(o.call, nullptr)) {}
        ~job() {
            if (call) {
                call->finish_server(error::endpoint_closed, {});
            }
        }
    };

    template <class Call>
    void post_job(std::shared_ptr<endpoint_base> self, Call* call) {
        job<Call> j(std::static_pointer_cast<endpoint>(std::move(self)), call);
        if (call->serial) boost::asio::post(*call->serial, std::move(j));
        else this->post(std::move(j));
    }

    // Where the handler runs: the call's strand when it can be cancelled
    // (`storage` holds it), the server's executor otherwise.
    template <class Call>
    const boost::asio::any_io_executor& handler_executor(Call* call, boost::asio::any_io_executor& storage) const {
        if (!call->serial) return this->executor;
        storage = *call->serial;
        return storage;
    }

    // The precondition checks every call gets before its handler runs.
    template <class Call>
    bool admit(Call* call) {
        if (call->decided()) {  // cancelled while queued: don't start the work
            call->release_server();
            return false;
        }
        if (call->ctx.expired()) {
            call->finish_server(error::timeout, {});
            return false;
        }
        return true;
    }

    // `self` keeps the handler alive while a coroutine handler is suspended.
    void run(std::shared_ptr<endpoint> self, pending_call<Req, Rep>* call) {
        if (!admit(call)) return;
        boost::asio::any_io_executor storage;
        courier::detail::invoke_handler<Req, Rep>(
            handler_, std::move(call->request), call->ctx, handler_executor(call, storage), call->inner.slot(),
            [call, self = std::move(self)](error_code ec, Rep&& rep) {
                call->finish_server(ec, std::move(rep));
            });
    }

    void run(std::shared_ptr<endpoint> self, pending_call<message, message>* call)
        requires(!std::is_same_v<Req, message>)
    {
        call->ctx = extract(call->request);
        if (!admit(call)) return;
        error_code ec;
        Req req = codec_.template decode<Req>(call->request.payload, ec, nullptr);
        if (ec) {
            call->finish_server(ec, {});
            return;
        }
        boost::asio::any_io_executor storage;
        courier::detail::invoke_handler<Req, Rep>(
            handler_, std::move(req), call->ctx, handler_executor(call, storage), call->inner.slot(),
            [call, self = std::move(self)](error_code ec, Rep rep) {
                message out;
                if (!ec) {
                    out.payload = self->codec_.encode(rep, ec, nullptr);
                    out.content_type = self->codec_.content_type();
                    out.correlation_id = call->ctx.correlation_id;
                }
                call->finish_server(ec, std::move(out));
            });
    }

    Handler handler_;
    [[no_unique_address]] Codec codec_;
};

}  // namespace courier::inproc::detail

#endif
