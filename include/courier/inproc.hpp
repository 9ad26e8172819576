// The in-process backend: request-reply by endpoint name and an in-memory
// broker. No I/O, no threads of its own.
#ifndef COURIER_INPROC_HPP
#define COURIER_INPROC_HPP

#include <courier/courier.hpp>
#include <courier/inproc/broker.hpp>
#include <courier/inproc/channel.hpp>
#include <courier/inproc/network.hpp>
#include <courier/inproc/server.hpp>

#endif
