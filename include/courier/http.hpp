// The HTTP/REST backend (Boost.Beast, Boost.URL, OpenSSL): typed REST
// endpoints, a pooled keep-alive client that is a courier service, and a
// routed server. CMake component `http`, target courier::http.
#ifndef COURIER_HTTP_HPP
#define COURIER_HTTP_HPP

#include <courier/http/context_fields.hpp>
#include <courier/http/endpoint.hpp>
#include <courier/http/client.hpp>
#include <courier/http/connection_pool.hpp>
#include <courier/http/error.hpp>
#include <courier/http/middleware.hpp>
#include <courier/http/path_template.hpp>
#include <courier/http/router.hpp>
#include <courier/http/server.hpp>

#endif
