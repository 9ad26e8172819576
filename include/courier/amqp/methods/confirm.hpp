// The methods of class confirm (85), RabbitMQ's publisher confirms: after
// confirm.select the broker acks (or nacks) every publish on the channel.
#ifndef COURIER_AMQP_METHODS_CONFIRM_HPP
#define COURIER_AMQP_METHODS_CONFIRM_HPP

#include <courier/amqp/methods/common.hpp>

#include <cstdint>

namespace courier::amqp {

struct confirm_select {
    static constexpr std::uint16_t class_id = 85, method_id = 10;
    bool no_wait = false;
    using fields = detail::field_list<detail::bit<&confirm_select::no_wait>>;
    friend bool operator==(const confirm_select&, const confirm_select&) = default;
};
using confirm_select_ok = empty_method<85, 11>;

}  // namespace courier::amqp

#endif
