// courier's core: the vocabulary every backend and policy shares. Backends
// have their own umbrella headers (<courier/inproc.hpp>, ...).
#ifndef COURIER_COURIER_HPP
#define COURIER_COURIER_HPP

#include <courier/broker.hpp>
#include <courier/client.hpp>
#include <courier/codec.hpp>
#include <courier/codec/json.hpp>
#include <courier/context.hpp>
#include <courier/delivery.hpp>
#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/message.hpp>
#include <courier/propagation.hpp>
#include <courier/publisher.hpp>
#include <courier/server.hpp>
#include <courier/service.hpp>
#include <courier/subscribe.hpp>
#include <courier/subscription.hpp>
#include <courier/system_error.hpp>
#include <courier/trace_context.hpp>

#endif
