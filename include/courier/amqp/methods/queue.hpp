// The methods of class queue (50): declare, bind, unbind, purge, delete.
#ifndef COURIER_AMQP_METHODS_QUEUE_HPP
#define COURIER_AMQP_METHODS_QUEUE_HPP

#include <courier/amqp/methods/common.hpp>

#include <cstdint>
#include <string>

namespace courier::amqp {

/// An empty `queue` asks the broker to name it (server-named queue; the
/// name comes back in queue.declare-ok).
struct queue_declare {
    static constexpr std::uint16_t class_id = 50, method_id = 10;
    std::string queue{};
    bool passive = false;
    bool durable = false;
    bool exclusive = false;
    bool auto_delete = false;
    bool no_wait = false;
    field_table arguments{};
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&queue_declare::queue>,
                                      detail::bit<&queue_declare::passive>,
                                      detail::bit<&queue_declare::durable>,
                                      detail::bit<&queue_declare::exclusive>,
                                      detail::bit<&queue_declare::auto_delete>,
                                      detail::bit<&queue_declare::no_wait>,
                                      detail::table<&queue_declare::arguments>>;
    friend bool operator==(const queue_declare&, const queue_declare&) = default;
};

struct queue_declare_ok {
    static constexpr std::uint16_t class_id = 50, method_id = 11;
    std::string queue{};
    std::uint32_t message_count = 0;
    std::uint32_t consumer_count = 0;
    using fields = detail::field_list<detail::shortstr<&queue_declare_ok::queue>,
                                      detail::long_<&queue_declare_ok::message_count>,
                                      detail::long_<&queue_declare_ok::consumer_count>>;
    friend bool operator==(const queue_declare_ok&, const queue_declare_ok&) = default;
};

struct queue_bind {
    static constexpr std::uint16_t class_id = 50, method_id = 20;
    std::string queue{};
    std::string exchange{};
    std::string routing_key{};
    bool no_wait = false;
    field_table arguments{};
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&queue_bind::queue>,
                                      detail::shortstr<&queue_bind::exchange>,
                                      detail::shortstr<&queue_bind::routing_key>,
                                      detail::bit<&queue_bind::no_wait>,
                                      detail::table<&queue_bind::arguments>>;
    friend bool operator==(const queue_bind&, const queue_bind&) = default;
};
using queue_bind_ok = empty_method<50, 21>;

/// Unlike queue.bind, queue.unbind has no no-wait bit.
struct queue_unbind {
    static constexpr std::uint16_t class_id = 50, method_id = 50;
    std::string queue{};
    std::string exchange{};
    std::string routing_key{};
    field_table arguments{};
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&queue_unbind::queue>,
                                      detail::shortstr<&queue_unbind::exchange>,
                                      detail::shortstr<&queue_unbind::routing_key>,
                                      detail::table<&queue_unbind::arguments>>;
    friend bool operator==(const queue_unbind&, const queue_unbind&) = default;
};
using queue_unbind_ok = empty_method<50, 51>;

struct queue_purge {
    static constexpr std::uint16_t class_id = 50, method_id = 30;
    std::string queue{};
    bool no_wait = false;
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&queue_purge::queue>,
                                      detail::bit<&queue_purge::no_wait>>;
    friend bool operator==(const queue_purge&, const queue_purge&) = default;
};

/// queue.purge-ok and queue.delete-ok: how many messages went.
template <std::uint16_t MethodId>
struct message_count_method {
    static constexpr std::uint16_t class_id = 50, method_id = MethodId;
    std::uint32_t message_count = 0;
    using fields = detail::field_list<detail::long_<&message_count_method::message_count>>;
    friend bool operator==(const message_count_method&, const message_count_method&) = default;
};
using queue_purge_ok = message_count_method<31>;

struct queue_delete {
    static constexpr std::uint16_t class_id = 50, method_id = 40;
    std::string queue{};
    bool if_unused = false;
    bool if_empty = false;
    bool no_wait = false;
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&queue_delete::queue>,
                                      detail::bit<&queue_delete::if_unused>,
                                      detail::bit<&queue_delete::if_empty>,
                                      detail::bit<&queue_delete::no_wait>>;
    friend bool operator==(const queue_delete&, const queue_delete&) = default;
};
using queue_delete_ok = message_count_method<41>;

}  // namespace courier::amqp

#endif
