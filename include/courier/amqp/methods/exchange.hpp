// The methods of class exchange (40): declare, delete, and RabbitMQ's
// exchange-to-exchange bind and unbind.
#ifndef COURIER_AMQP_METHODS_EXCHANGE_HPP
#define COURIER_AMQP_METHODS_EXCHANGE_HPP

#include <courier/amqp/methods/common.hpp>

#include <cstdint>
#include <string>

namespace courier::amqp {

struct exchange_declare {
    static constexpr std::uint16_t class_id = 40, method_id = 10;
    std::string exchange{};
    std::string type = "direct";
    bool passive = false;
    bool durable = false;
    bool auto_delete = false;
    bool internal = false;
    bool no_wait = false;
    field_table arguments{};
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&exchange_declare::exchange>,
                                      detail::shortstr<&exchange_declare::type>,
                                      detail::bit<&exchange_declare::passive>,
                                      detail::bit<&exchange_declare::durable>,
                                      detail::bit<&exchange_declare::auto_delete>,
                                      detail::bit<&exchange_declare::internal>,
                                      detail::bit<&exchange_declare::no_wait>,
                                      detail::table<&exchange_declare::arguments>>;
    friend bool operator==(const exchange_declare&, const exchange_declare&) = default;
};
using exchange_declare_ok = empty_method<40, 11>;

struct exchange_delete {
    static constexpr std::uint16_t class_id = 40, method_id = 20;
    std::string exchange{};
    bool if_unused = false;
    bool no_wait = false;
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&exchange_delete::exchange>,
                                      detail::bit<&exchange_delete::if_unused>,
                                      detail::bit<&exchange_delete::no_wait>>;
    friend bool operator==(const exchange_delete&, const exchange_delete&) = default;
};
using exchange_delete_ok = empty_method<40, 21>;

/// exchange.bind and exchange.unbind: route from `source` to `destination`.
template <std::uint16_t MethodId>
struct exchange_binding_method {
    static constexpr std::uint16_t class_id = 40, method_id = MethodId;
    std::string destination{};
    std::string source{};
    std::string routing_key{};
    bool no_wait = false;
    field_table arguments{};
    using fields = detail::field_list<detail::reserved<detail::kind::short_>,  // ticket
                                      detail::shortstr<&exchange_binding_method::destination>,
                                      detail::shortstr<&exchange_binding_method::source>,
                                      detail::shortstr<&exchange_binding_method::routing_key>,
                                      detail::bit<&exchange_binding_method::no_wait>,
                                      detail::table<&exchange_binding_method::arguments>>;
    friend bool operator==(const exchange_binding_method&, const exchange_binding_method&) = default;
};
using exchange_bind = exchange_binding_method<30>;
using exchange_bind_ok = empty_method<40, 31>;
using exchange_unbind = exchange_binding_method<40>;
using exchange_unbind_ok = empty_method<40, 51>;  // 51, not 41: RabbitMQ's extension numbering

}  // namespace courier::amqp

#endif
