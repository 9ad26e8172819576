// The seed's user lookup as the HTTP client tests make it (GET
// /users/{userId} answering {"id","name","email"}), and one call run to its
// end on the caller's io_context, with what came back and how long it took.
// No Catch2 here: the interop drivers use it too.
#pragma once

#include "support/run_until.hpp"

#include <courier/context.hpp>
#include <courier/error.hpp>
#include <courier/http/endpoint.hpp>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace courier_test {

struct get_user {
    std::string userId;
    static constexpr bool idempotent = true;  // a lookup: retry may send it again
};
struct user {
    std::string id, name, email;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name, email)

inline const courier::http::endpoint<get_user, user> get_user_endpoint{courier::http::verb::get, "/users/{userId}"};

/// How one call ended.
struct call_result {
    bool done = false;  ///< false: still running when the wait gave up
    courier::error_code ec;
    user value;
    std::chrono::steady_clock::duration took{};
};

/// Calls `svc` for user `id` and runs `ioc` until the call completes, or
/// `limit` passes (then `done` is false).
template <class Service>
call_result call_user(boost::asio::io_context& ioc, Service& svc, std::string id, courier::context ctx = {},
                      std::chrono::steady_clock::duration limit = std::chrono::seconds(30)) {
    auto out = std::make_shared<call_result>();
    const auto started = std::chrono::steady_clock::now();
    svc.async_call(get_user{std::move(id)}, std::move(ctx), [out, started](courier::error_code ec, user u) {
        out->done = true;
        out->ec = ec;
        out->value = std::move(u);
        out->took = std::chrono::steady_clock::now() - started;
    });
    run_until(ioc, [&] { return out->done; }, limit);
    return *out;
}

}  // namespace courier_test
