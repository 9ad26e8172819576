// The methods of class channel (20): open, flow control and close.
#ifndef COURIER_AMQP_METHODS_CHANNEL_HPP
#define COURIER_AMQP_METHODS_CHANNEL_HPP

#include <courier/amqp/methods/common.hpp>

#include <cstdint>

namespace courier::amqp {

struct channel_open {
    static constexpr std::uint16_t class_id = 20, method_id = 10;
    using fields = detail::field_list<detail::reserved<detail::kind::shortstr>>;  // out-of-band
    friend bool operator==(const channel_open&, const channel_open&) = default;
};

struct channel_open_ok {
    static constexpr std::uint16_t class_id = 20, method_id = 11;
    using fields = detail::field_list<detail::reserved<detail::kind::longstr>>;  // channel-id
    friend bool operator==(const channel_open_ok&, const channel_open_ok&) = default;
};

/// channel.flow (asks the peer to stop or resume sending content) and
/// channel.flow-ok (confirms the state now in force).
template <std::uint16_t MethodId>
struct flow_method {
    static constexpr std::uint16_t class_id = 20, method_id = MethodId;
    bool active = true;
    using fields = detail::field_list<detail::bit<&flow_method::active>>;
    friend bool operator==(const flow_method&, const flow_method&) = default;
};
using channel_flow = flow_method<20>;
using channel_flow_ok = flow_method<21>;

using channel_close = close_method<20, 40>;
using channel_close_ok = empty_method<20, 41>;

}  // namespace courier::amqp

#endif
