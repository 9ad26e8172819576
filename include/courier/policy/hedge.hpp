// hedge: when the first attempt is slow, send another; the first success
// wins and the others are cancelled. Trades a little extra load for a
// shorter tail. Only for idempotent requests (unless told otherwise).
#ifndef COURIER_POLICY_HEDGE_HPP
#define COURIER_POLICY_HEDGE_HPP

#include <courier/context.hpp>
#include <courier/detail/operation.hpp>
#include <courier/error.hpp>
#include <courier/idempotent.hpp>
#include <courier/policy/observer.hpp>
#include <courier/detail/layered_service.hpp>
#include <courier/detail/serial_executor.hpp>
#include <courier/service.hpp>
#include <courier/timing.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>

namespace courier::policy {

struct hedge_options {
    /// Wait this long for an answer before sending the next attempt.
    std::chrono::nanoseconds delay = std::chrono::milliseconds(50);
    /// Attempts in total, the first included (at most 4).
    unsigned max_attempts = 2;
    /// Hedge requests whose type is not courier::is_idempotent.
    bool hedge_non_idempotent = false;
    observer on_event{};
};

template <service S, class Timing>
class hedge_service;

template <class Timing = steady_timing>
class hedge {
public:
    explicit hedge(hedge_options opts = {}) : opts_(std::make_shared<const hedge_options>(std::move(opts))) {}
    template <service S>
    hedge_service<S, Timing> wrap(S svc) const {
        return {std::move(svc), opts_};
    }

private:
    std::shared_ptr<const hedge_options> opts_;
};

hedge(hedge_options) -> hedge<>;

template <service S, class Timing>
class hedge_service : public courier::detail::layered_service<hedge_service<S, Timing>, S> {
    using base = courier::detail::layered_service<hedge_service<S, Timing>, S>;
    friend base;

public:
    using typename base::executor_type;
    using typename base::request_type;
    using typename base::response_type;
    static constexpr unsigned max_hedged = 4;

    hedge_service(S svc, std::shared_ptr<const hedge_options> opts) : base(std::move(svc)), opts_(std::move(opts)) {}

private:
    /// Completion: the first successful attempt's result, else the last
    /// failure once every attempt failed. Losing attempts are cancelled and
    /// have completed before the operation frees its state. Cancellation:
    /// terminal/partial/total, forwarded to every running attempt.
    template <class Handler>
    void start(Handler&& handler, request_type&& req, context&& ctx) {
        if (!is_idempotent_v<request_type> && !opts_->hedge_non_idempotent)
            return this->call_next(std::move(handler), std::move(req), std::move(ctx));
        auto o = std::make_shared<op<std::decay_t<decltype(handler)>>>(std::move(handler), this,
                                                                    std::move(req), std::move(ctx));
        o->begin(o);
    }

    // Runs on a strand of the caller's executor (the executor itself when
    // it is a strand): the attempts complete there, the hedging timer fires
    // there and the losers' cancellation is emitted there.
    template <class Handler>
    struct op {
        using executor = courier::detail::serial_executor_t<boost::asio::associated_executor_t<Handler, executor_type>>;

        op(Handler&& h, hedge_service* s, request_type&& r, context&& c)
            : handler(std::move(h)),
              ex(courier::detail::make_serial(boost::asio::get_associated_executor(*handler, s->get_executor()))),
              svc(s), req(std::move(r)), ctx(std::move(c)), timer(ex) {}

        std::optional<Handler> handler;
        executor ex;
        hedge_service* svc;
        request_type req;
        context ctx;
        typename Timing::timer timer;
        std::array<boost::asio::cancellation_signal, max_hedged> signals;
        unsigned started = 0, running = 0;
        bool done = false;
        error_code last_error;

        unsigned limit() const { return std::min(max_hedged, std::max(1u, svc->opts_->max_attempts)); }

        void begin(const std::shared_ptr<op>& self) {
            auto slot = boost::asio::get_associated_cancellation_slot(*handler);
            if (slot.is_connected())
                slot.assign([w = std::weak_ptr<op>(self)](boost::asio::cancellation_type t) {
                    if (auto o = w.lock())
                        boost::asio::dispatch(o->ex, [o, t] {
                            if (!o->done) o->cancel_all(t, boost::asio::error::operation_aborted);
                        });
                });
            boost::asio::dispatch(ex, [self] { self->launch(self); });
        }

        void launch(const std::shared_ptr<op>& self) {
            const unsigned i = started++;
            ++running;
            context c = ctx;
            c.attempt = i + 1;
            detail::notify(svc->opts_->on_event, {.kind = event_kind::attempt, .policy = "hedge", .attempt = c.attempt});
            request_type r = req;
            svc->call_next(boost::asio::bind_cancellation_slot(
                               signals[i].slot(), boost::asio::bind_executor(ex, [self](error_code ec, response_type rep) {
                                   self->on_attempt(self, ec, std::move(rep));
                               })),
                           std::move(r), std::move(c));
            if (started < limit()) {
                timer.expires_after(svc->opts_->delay);
                timer.async_wait(boost::asio::bind_executor(ex, [self](error_code ec) {
                    if (!ec && !self->done && self->started < self->limit()) self->launch(self);
                }));
            }
        }

        void on_attempt(const std::shared_ptr<op>&, error_code ec, response_type rep) {
            --running;
            if (done) return;
            if (!ec) {
                finish(ec, std::move(rep));
                cancel_all(boost::asio::cancellation_type::terminal, {});
                return;
            }
            last_error = ec;
            if (running == 0 && (started >= limit() || ec == boost::asio::error::operation_aborted)) {
                timer.cancel();
                finish(ec, std::move(rep));
            }
        }

        void cancel_all(boost::asio::cancellation_type t, error_code reason) {
            timer.cancel();
            for (unsigned i = 0; i < started; ++i) signals[i].emit(t);
            if (reason && running == 0 && !done) finish(reason, response_type{});
        }

        void finish(error_code ec, response_type rep) {
            done = true;
            auto slot = boost::asio::get_associated_cancellation_slot(*handler);
            if (slot.is_connected()) slot.clear();
            auto h = std::move(*handler);
            handler.reset();
            std::move(h)(ec, std::move(rep));
        }
    };

    std::shared_ptr<const hedge_options> opts_;
};

}  // namespace courier::policy

#endif
