// Request-reply over RabbitMQ: amqp::rpc_client (a courier service that
// publishes requests to a queue and takes replies through direct reply-to)
// and amqp::rpc_server (binds handlers to queues and answers them), both
// living on an amqp::broker's connection. docs/amqp.md, section "RPC".
#ifndef COURIER_AMQP_RPC_HPP
#define COURIER_AMQP_RPC_HPP

#include <courier/amqp/rpc_client.hpp>
#include <courier/amqp/rpc_protocol.hpp>
#include <courier/amqp/rpc_server.hpp>

#endif
