// The methods of class basic (60): quality of service, consumers, publish and
// the three ways a message comes back (deliver, get-ok, return), acks, and
// RabbitMQ's nack. basic.publish, basic.deliver, basic.get-ok and
// basic.return are followed by a content header and body frames
// (content_assembler puts them together).
#ifndef COURIER_AMQP_METHODS_BASIC_HPP
#define COURIER_AMQP_METHODS_BASIC_HPP

#include <courier/amqp/methods/common.hpp>

#include <cstdint>
#include <string>

namespace courier::amqp {

/// prefetch_count: unacknowledged deliveries allowed (0: no limit);
/// global: per channel rather than per consumer (RabbitMQ's reading).
struct basic_qos {
    static constexpr std::uint16_t class_id = 60, method_id = 10;
    std::uint32_t prefetch_size = 0;
    std::uint16_t prefetch_count = 0;
    bool global = false;
    using fields = detail::field_list<detail::long_<&basic_qos::prefetch_size>,
                                      detail::short_<&basic_qos::prefetch_count>,
                                      detail::bit<&basic_qos::global>>;
    friend bool operator==(const basic_qos&, const basic_qos&) = default;
};
using basic_qos_ok = empty_method<60, 11>;

/// An empty consumer_tag asks the broker to make one up (basic.consume-ok).
struct basic_consume {
    static constexpr std::uint16_t class_id = 60, method_id = 20;
    std::string queue{};
    std::string consumer_tag{};
    bool no_local = false;
    bool no_ack = false;
    bool exclusive = false;
    bool no_wait = false;
    field_table arguments{};
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&basic_consume::queue>,
                                      detail::shortstr<&basic_consume::consumer_tag>,
                                      detail::bit<&basic_consume::no_local>,
                                      detail::bit<&basic_consume::no_ack>,
                                      detail::bit<&basic_consume::exclusive>,
                                      detail::bit<&basic_consume::no_wait>,
                                      detail::table<&basic_consume::arguments>>;
    friend bool operator==(const basic_consume&, const basic_consume&) = default;
};

/// basic.consume-ok and basic.cancel-ok: the consumer concerned.
template <std::uint16_t MethodId>
struct consumer_tag_method {
    static constexpr std::uint16_t class_id = 60, method_id = MethodId;
    std::string consumer_tag{};
    using fields = detail::field_list<detail::shortstr<&consumer_tag_method::consumer_tag>>;
    friend bool operator==(const consumer_tag_method&, const consumer_tag_method&) = default;
};
using basic_consume_ok = consumer_tag_method<21>;

/// Sent by the client to stop a consumer, and by RabbitMQ when the queue
/// went away (consumer_cancel_notify).
struct basic_cancel {
    static constexpr std::uint16_t class_id = 60, method_id = 30;
    std::string consumer_tag{};
    bool no_wait = false;
    using fields = detail::field_list<detail::shortstr<&basic_cancel::consumer_tag>,
                                      detail::bit<&basic_cancel::no_wait>>;
    friend bool operator==(const basic_cancel&, const basic_cancel&) = default;
};
using basic_cancel_ok = consumer_tag_method<31>;

struct basic_publish {
    static constexpr std::uint16_t class_id = 60, method_id = 40;
    std::string exchange{};
    std::string routing_key{};
    bool mandatory = false;  ///< return the message (basic.return) when no queue takes it
    bool immediate = false;  ///< unsupported by RabbitMQ 3+, which closes the channel
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&basic_publish::exchange>,
                                      detail::shortstr<&basic_publish::routing_key>,
                                      detail::bit<&basic_publish::mandatory>,
                                      detail::bit<&basic_publish::immediate>>;
    friend bool operator==(const basic_publish&, const basic_publish&) = default;
};

/// A mandatory message that could not be routed, coming back with its content.
struct basic_return {
    static constexpr std::uint16_t class_id = 60, method_id = 50;
    std::uint16_t reply_code = 0;
    std::string reply_text{};
    std::string exchange{};
    std::string routing_key{};
    using fields = detail::field_list<detail::short_<&basic_return::reply_code>,
                                      detail::shortstr<&basic_return::reply_text>,
                                      detail::shortstr<&basic_return::exchange>,
                                      detail::shortstr<&basic_return::routing_key>>;
    friend bool operator==(const basic_return&, const basic_return&) = default;
};

/// A message for a consumer, followed by its content.
struct basic_deliver {
    static constexpr std::uint16_t class_id = 60, method_id = 60;
    std::string consumer_tag{};
    std::uint64_t delivery_tag = 0;
    bool redelivered = false;
    std::string exchange{};
    std::string routing_key{};
    using fields = detail::field_list<detail::shortstr<&basic_deliver::consumer_tag>,
                                      detail::longlong<&basic_deliver::delivery_tag>,
                                      detail::bit<&basic_deliver::redelivered>,
                                      detail::shortstr<&basic_deliver::exchange>,
                                      detail::shortstr<&basic_deliver::routing_key>>;
    friend bool operator==(const basic_deliver&, const basic_deliver&) = default;
};

struct basic_get {
    static constexpr std::uint16_t class_id = 60, method_id = 70;
    std::string queue{};
    bool no_ack = false;
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&basic_get::queue>,
                                      detail::bit<&basic_get::no_ack>>;
    friend bool operator==(const basic_get&, const basic_get&) = default;
};

/// basic.get's message, followed by its content.
struct basic_get_ok {
    static constexpr std::uint16_t class_id = 60, method_id = 71;
    std::uint64_t delivery_tag = 0;
    bool redelivered = false;
    std::string exchange{};
    std::string routing_key{};
    std::uint32_t message_count = 0;  ///< messages left in the queue
    using fields = detail::field_list<detail::longlong<&basic_get_ok::delivery_tag>,
                                      detail::bit<&basic_get_ok::redelivered>,
                                      detail::shortstr<&basic_get_ok::exchange>,
                                      detail::shortstr<&basic_get_ok::routing_key>,
                                      detail::long_<&basic_get_ok::message_count>>;
    friend bool operator==(const basic_get_ok&, const basic_get_ok&) = default;
};

struct basic_get_empty {
    static constexpr std::uint16_t class_id = 60, method_id = 72;
    using fields = detail::field_list<detail::reserved<detail::kind::shortstr>>;  // cluster-id
    friend bool operator==(const basic_get_empty&, const basic_get_empty&) = default;
};

/// Acknowledges a delivery (client) or confirms a publish (broker, in
/// confirm mode); `multiple` covers every tag up to this one.
struct basic_ack {
    static constexpr std::uint16_t class_id = 60, method_id = 80;
    std::uint64_t delivery_tag = 0;
    bool multiple = false;
    using fields = detail::field_list<detail::longlong<&basic_ack::delivery_tag>,
                                      detail::bit<&basic_ack::multiple>>;
    friend bool operator==(const basic_ack&, const basic_ack&) = default;
};

struct basic_reject {
    static constexpr std::uint16_t class_id = 60, method_id = 90;
    std::uint64_t delivery_tag = 0;
    bool requeue = true;
    using fields = detail::field_list<detail::longlong<&basic_reject::delivery_tag>,
                                      detail::bit<&basic_reject::requeue>>;
    friend bool operator==(const basic_reject&, const basic_reject&) = default;
};

/// Redelivers the channel's unacknowledged messages.
struct basic_recover {
    static constexpr std::uint16_t class_id = 60, method_id = 110;
    bool requeue = true;
    using fields = detail::field_list<detail::bit<&basic_recover::requeue>>;
    friend bool operator==(const basic_recover&, const basic_recover&) = default;
};
using basic_recover_ok = empty_method<60, 111>;

/// RabbitMQ: rejects one or several deliveries (client), or reports a
/// publish the broker could not take (broker, in confirm mode).
struct basic_nack {
    static constexpr std::uint16_t class_id = 60, method_id = 120;
    std::uint64_t delivery_tag = 0;
    bool multiple = false;
    bool requeue = true;
    using fields = detail::field_list<detail::longlong<&basic_nack::delivery_tag>,
                                      detail::bit<&basic_nack::multiple>,
                                      detail::bit<&basic_nack::requeue>>;
    friend bool operator==(const basic_nack&, const basic_nack&) = default;
};

}  // namespace courier::amqp

#endif
