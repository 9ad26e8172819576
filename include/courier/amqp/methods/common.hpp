// Method layouts that several AMQP classes share: methods without arguments
// (the "-ok" replies mostly) and the close of connections and channels.
// Each alias of these templates is its own type, told apart by its ids.
#ifndef COURIER_AMQP_METHODS_COMMON_HPP
#define COURIER_AMQP_METHODS_COMMON_HPP

#include <courier/amqp/detail/fields.hpp>

#include <cstdint>
#include <string>

namespace courier::amqp {

/// A method with no arguments.
template <std::uint16_t ClassId, std::uint16_t MethodId>
struct empty_method {
    static constexpr std::uint16_t class_id = ClassId, method_id = MethodId;
    using fields = detail::field_list<>;
    friend bool operator==(const empty_method&, const empty_method&) = default;
};

/// connection.close and channel.close: why the sender closes, and which
/// method caused it (0, 0 when none did).
template <std::uint16_t ClassId, std::uint16_t MethodId>
struct close_method {
    static constexpr std::uint16_t class_id = ClassId, method_id = MethodId;
    std::uint16_t reply_code = 200;
    std::string reply_text{};
    std::uint16_t failed_class_id = 0;   ///< the spec's class-id
    std::uint16_t failed_method_id = 0;  ///< the spec's method-id
    using fields = detail::field_list<detail::short_<&close_method::reply_code>,
                                      detail::shortstr<&close_method::reply_text>,
                                      detail::short_<&close_method::failed_class_id>,
                                      detail::short_<&close_method::failed_method_id>>;
    friend bool operator==(const close_method&, const close_method&) = default;
};

}  // namespace courier::amqp

#endif
