// rate_limiter: a token bucket; a call without a token is rejected with
// error::rate_limited (it never waits: a caller that wants to wait puts a
// retry with backoff outside it).
#ifndef COURIER_POLICY_RATE_LIMITER_HPP
#define COURIER_POLICY_RATE_LIMITER_HPP

#include <courier/context.hpp>
#include <courier/detail/operation.hpp>
#include <courier/error.hpp>
#include <courier/policy/observer.hpp>
#include <courier/detail/layered_service.hpp>
#include <courier/service.hpp>
#include <courier/timing.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>

namespace courier::policy {

struct rate_limiter_options {
    /// Tokens added per second.
    double rate = 100;
    /// Most tokens the bucket holds (the largest burst).
    double burst = 100;
    observer on_event{};
};

namespace detail {
template <class Clock>
class token_bucket {
public:
    explicit token_bucket(rate_limiter_options o) : opts(std::move(o)), tokens_(opts.burst), at_(Clock::now()) {}
    bool try_take() {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        tokens_ = std::min(opts.burst, tokens_ + std::chrono::duration<double>(now - at_).count() * opts.rate);
        at_ = now;
        if (tokens_ < 1) return false;
        tokens_ -= 1;
        return true;
    }
    const rate_limiter_options opts;

private:
    std::mutex mutex_;
    double tokens_;
    typename Clock::time_point at_;
};
}  // namespace detail

template <service S, class Timing>
class rate_limiter_service;

template <class Timing = steady_timing>
class rate_limiter {
public:
    explicit rate_limiter(rate_limiter_options opts = {})
        : bucket_(std::make_shared<detail::token_bucket<typename Timing::clock>>(std::move(opts))) {}
    template <service S>
    rate_limiter_service<S, Timing> wrap(S svc) const {
        return {std::move(svc), bucket_};
    }

private:
    std::shared_ptr<detail::token_bucket<typename Timing::clock>> bucket_;
};

rate_limiter(rate_limiter_options) -> rate_limiter<>;

template <service S, class Timing>
class rate_limiter_service : public courier::detail::layered_service<rate_limiter_service<S, Timing>, S> {
    using base = courier::detail::layered_service<rate_limiter_service<S, Timing>, S>;
    friend base;

public:
    using typename base::executor_type;
    using typename base::request_type;
    using typename base::response_type;
    using bucket_type = detail::token_bucket<typename Timing::clock>;

    rate_limiter_service(S svc, std::shared_ptr<bucket_type> b) : base(std::move(svc)), bucket_(std::move(b)) {}

private:
    /// As the inner service; error::rate_limited (posted) without a token.
    template <class Handler>
    void start(Handler&& handler, request_type&& req, context&& ctx) {
        if (bucket_->try_take()) return this->call_next(std::move(handler), std::move(req), std::move(ctx));
        detail::notify(bucket_->opts.on_event,
                       {.kind = event_kind::rejected, .policy = "rate_limiter", .error = error::rate_limited});
        courier::detail::post_completion(std::move(handler), this->get_executor(), error_code(error::rate_limited),
                                         response_type{});
    }

    std::shared_ptr<bucket_type> bucket_;
};

}  // namespace courier::policy

#endif
