// What a server can bind to an endpoint: a request handler. Backends
// (inproc::server, http::server, ...) take any of the three kinds below.
#ifndef COURIER_SERVER_HPP
#define COURIER_SERVER_HPP

#include <courier/context.hpp>
#include <courier/detail/invoke_handler.hpp>
#include <courier/service.hpp>

namespace courier {

/// A request handler for `Req -> Rep`, one of:
/// - a function `R(Req, context&)` run on the server's executor, where R is
///   `Rep` or `boost::system::result<Rep>`; throwing reports the failure;
/// - a coroutine `asio::awaitable<R>(Req, context&)`, cancelled when the
///   caller gives up;
/// - any `service` with request_type Req and response_type Rep (a client of
///   another service, a policy stack...).
/// A thrown courier::system_error (or boost::system::system_error) fails the
/// call with its code; any other exception with error::internal.
template <class H, class Req, class Rep>
concept request_handler = detail::handler_kind_of<H, Req, Rep> != detail::handler_kind::none;

}  // namespace courier

#endif
