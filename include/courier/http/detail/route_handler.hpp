// What a route runs: a typed courier request handler (request rebuilt from
// path, query and JSON body; reply sent as JSON) or a raw Beast handler.
// Both sit behind one interface so the router stores either.
#ifndef COURIER_HTTP_DETAIL_ROUTE_HANDLER_HPP
#define COURIER_HTTP_DETAIL_ROUTE_HANDLER_HPP

#include <courier/detail/invoke_handler.hpp>
#include <courier/http/detail/request_mapping.hpp>
#include <courier/http/detail/responses.hpp>
#include <courier/http/middleware.hpp>
#include <courier/http/router.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace courier::http::detail {

// Named once: GCC 12 miscompiles class temporaries inside co_await.
inline constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);
// The same result, without the coroutine frame use_awaitable's initiation
// costs: an awaitable co_awaits a deferred operation directly.
inline constexpr auto tuple_deferred = boost::asio::as_tuple(boost::asio::deferred);

class route_handler {
public:
    virtual ~route_handler() = default;
    /// Runs on the connection's strand; `req`, `ctx` and `params` outlive it.
    virtual boost::asio::awaitable<response> handle(request& req, context& ctx, path_params& params) = 0;
};

// invoke_handler reports a thrown courier::system_error as its code alone;
// this wrapper keeps its diagnostic, which the HTTP response carries
// ("User not found"), for the duration of one call.
template <class H>
struct diagnosing_function {
    H* handler;
    std::string* diagnostic;

    template <class Req>
    auto operator()(Req&& req, context& ctx) -> decltype((*handler)(std::forward<Req>(req), ctx)) {
        try {
            return (*handler)(std::forward<Req>(req), ctx);
        } catch (const courier::system_error& e) {
            *diagnostic = e.diagnostic();
            throw;
        }
    }
};

/// invoke_handler as an asynchronous operation completing with
/// `void(error_code, Rep)` on the token's associated executor; the token's
/// cancellation slot reaches coroutines and services. `h`, `req` and `ctx`
/// must outlive the operation. For service handlers: function handlers
/// complete inline, coroutines are awaited in place.
template <class Req, class Rep, class H, class Token>
auto async_invoke(H& h, Req& req, context& ctx, Token&& token) {
    return boost::asio::async_initiate<Token, void(error_code, Rep)>(
        [](auto handler, H* h, Req* req, context* ctx) {
            auto slot = boost::asio::get_associated_cancellation_slot(handler);
            auto ex = boost::asio::get_associated_executor(handler);
            courier::detail::invoke_handler<Req, Rep>(
                *h, std::move(*req), *ctx, ex, slot,
                [handler = std::move(handler)](error_code ec, Rep rep) mutable {
                    // A service completes on its own executor: come back.
                    auto hex = boost::asio::get_associated_executor(handler);
                    boost::asio::dispatch(hex, boost::asio::append(std::move(handler), ec, std::move(rep)));
                });
        },
        token, &h, &req, &ctx);
}

template <class Req, class Rep, class H>
class typed_route final : public route_handler {
public:
    typed_route(H handler, unsigned status) : handler_(std::move(handler)), status_(status) {}

    boost::asio::awaitable<response> handle(request& req, context& ctx, path_params& params) override {
        // The session validated the target already; only a query needs it parsed again.
        boost::urls::params_view query;
        if (req.target().find('?') != boost::core::string_view::npos) {
            auto target = boost::urls::parse_origin_form(req.target());
            if (!target) co_return json_error(400, "invalid request: malformed target");
            query = target->params();
        }
        error_code ec;
        std::string diagnostic;
        Req typed = decode_request<Req>(params, query, req.body(), ec, &diagnostic);
        if (ec) co_return json_error(400, "invalid request: " + diagnostic);

        constexpr auto kind = courier::detail::handler_kind_of<H, Req, Rep>;
        Rep rep{};
        auto done = [&](error_code e, Rep r) {
            ec = e;
            rep = std::move(r);
        };
        if constexpr (kind == courier::detail::handler_kind::function) {
            diagnosing_function<H> call{&handler_, &diagnostic};
            courier::detail::invoke_handler<Req, Rep>(call, std::move(typed), ctx, boost::asio::system_executor(),
                                                      boost::asio::cancellation_slot(), done);
        } else if constexpr (kind == courier::detail::handler_kind::coroutine) {
            // Awaited in place, as part of the connection's coroutine (whose
            // cancellation it shares): co_spawning it would cost a coroutine
            // thread, a dispatch and a completion hop per request.
            std::exception_ptr failure;
            try {
                auto inner = handler_(std::move(typed), ctx);
                auto r = co_await std::move(inner);
                courier::detail::deliver<Rep>(std::move(r), done);
            } catch (const courier::system_error& e) {
                diagnostic = e.diagnostic();
                failure = std::current_exception();
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) ec = courier::detail::error_from_exception(failure);
        } else {
            auto op = async_invoke<Req, Rep>(handler_, typed, ctx, tuple_awaitable);
            auto [e, r] = co_await std::move(op);
            ec = e;
            rep = std::move(r);
        }
        if (ec) co_return error_response(ec, diagnostic);

        response res{static_cast<boost::beast::http::status>(status_), 11};
        res.set(boost::beast::http::field::content_type, "application/json");
        try {
            res.body() = dump_json(nlohmann::json(rep));
        } catch (const std::exception& e) {  // the reply's to_json threw
            co_return json_error(500, std::string("encode_failed: ") + e.what());
        }
        co_return res;
    }

private:
    H handler_;
    unsigned status_;
};

/// Accepted raw handler shapes: with or without the path parameters, as a
/// coroutine or a plain function.
template <class H>
concept raw_handler =
    std::is_invocable_v<H&, request&, context&> || std::is_invocable_v<H&, request&, context&, const path_params&>;

template <class H>
class raw_route final : public route_handler {
public:
    explicit raw_route(H handler) : handler_(std::move(handler)) {}

    boost::asio::awaitable<response> handle(request& req, context& ctx, path_params& params) override {
        [[maybe_unused]] const path_params& p = params;
        if constexpr (std::is_invocable_v<H&, request&, context&, const path_params&>) {
            auto op = call(req, ctx, p);
            co_return co_await std::move(op);
        } else {
            auto op = call(req, ctx);
            co_return co_await std::move(op);
        }
    }

private:
    template <class... Args>
    boost::asio::awaitable<response> call(Args&... args) {
        using R = std::invoke_result_t<H&, Args&...>;
        if constexpr (courier::detail::is_awaitable<R>::value) {
            auto inner = handler_(args...);
            co_return co_await std::move(inner);
        } else {
            co_return handler_(args...);
        }
    }

    H handler_;
};

}  // namespace courier::http::detail

#endif
