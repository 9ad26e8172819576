// The RabbitMQ backend (AMQP 0-9-1, courier's own Asio-native client):
// amqp::broker for publish-subscribe with publisher confirms, acks,
// redelivery and dead-lettering, amqp::rpc_client and amqp::rpc_server for
// request-reply, and the sans-io protocol core under them.
// CMake component `amqp`, target courier::amqp.
#ifndef COURIER_AMQP_HPP
#define COURIER_AMQP_HPP

#include <courier/amqp/broker.hpp>
#include <courier/amqp/connection.hpp>
#include <courier/amqp/error.hpp>
#include <courier/amqp/rpc.hpp>
#include <courier/amqp/uri.hpp>

#endif
