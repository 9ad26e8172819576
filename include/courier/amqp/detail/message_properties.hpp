// courier::message <-> AMQP basic properties. The well-known fields map onto
// their properties (id -> message-id, correlation_id -> correlation-id,
// content_type, timestamp in seconds); courier's headers (traceparent,
// metadata...) become the headers table as long strings, and come back from
// it as text: numbers and booleans other clients send are formatted, nested
// values (RabbitMQ's x-death) stay in the properties only.
#ifndef COURIER_AMQP_DETAIL_MESSAGE_PROPERTIES_HPP
#define COURIER_AMQP_DETAIL_MESSAGE_PROPERTIES_HPP

#include <courier/amqp/properties.hpp>
#include <courier/message.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace courier::amqp::detail {

/// The publish's sequence number on its connection (its confirm's delivery
/// tag), set on every mandatory publish: a basic.return carries no delivery
/// tag, and a message id need not be unique, so this is how a return finds
/// its publish. Consumers never see it (from_properties drops it).
inline constexpr std::string_view publish_seq_header = "x-courier-publish-seq";

inline void to_properties(message& msg, basic_properties& p) {
    if (!msg.content_type.empty()) p.content_type = std::move(msg.content_type);
    if (!msg.id.empty()) p.message_id = std::move(msg.id);
    if (!msg.correlation_id.empty()) p.correlation_id = std::move(msg.correlation_id);
    const auto ts = msg.timestamp == std::chrono::system_clock::time_point{}
                        ? std::chrono::system_clock::now()
                        : msg.timestamp;
    p.timestamp = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(ts.time_since_epoch()).count());
    if (!msg.headers.empty()) {
        auto& t = p.headers.emplace();
        for (const auto& [k, v] : msg.headers) t.push_back(k, std::string(v));
    }
}

/// The header's value as text, when it is text, a number or a boolean.
inline bool header_text(const field_value& v, std::string& out) {
    return std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) out = x;
            else if constexpr (std::is_same_v<T, byte_array>) out = x.bytes;
            else if constexpr (std::is_same_v<T, bool>) out = x ? "true" : "false";
            else if constexpr (std::is_integral_v<T>) out = std::to_string(+x);
            else return false;
            return true;
        },
        v.as_variant());
}

inline void from_properties(const basic_properties& p, message& msg) {
    if (p.content_type) msg.content_type = *p.content_type;
    if (p.message_id) msg.id = *p.message_id;
    if (p.correlation_id) msg.correlation_id = *p.correlation_id;
    if (p.timestamp) msg.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(*p.timestamp));
    if (p.headers) {
        std::string text;
        for (const auto& [k, v] : *p.headers)
            if (k != publish_seq_header && header_text(v, text)) msg.headers.set(k, std::move(text));
    }
}

/// How many times the message went through retry queues whose names start
/// with `prefix`: the counts of RabbitMQ's x-death entries for them.
inline unsigned retries_of(const basic_properties& p, std::string_view prefix) {
    if (!p.headers) return 0;
    const auto* deaths = p.headers->find("x-death");
    const auto* list = deaths ? deaths->get_if<field_array>() : nullptr;
    if (!list) return 0;
    std::uint64_t total = 0;
    for (const auto& entry : *list) {
        const auto* t = entry.get_if<field_table>();
        if (!t) continue;
        const auto* queue = t->find("queue");
        const auto* name = queue ? queue->get_if<std::string>() : nullptr;
        if (!name || !name->starts_with(prefix)) continue;
        if (const auto* count = t->find("count")) {
            std::visit(
                [&](const auto& x) {
                    if constexpr (std::is_integral_v<std::decay_t<decltype(x)>>)
                        if (x > 0) total += static_cast<std::uint64_t>(x);
                },
                count->as_variant());
        }
    }
    return static_cast<unsigned>(std::min<std::uint64_t>(total, 1u << 30));
}

}  // namespace courier::amqp::detail

#endif
