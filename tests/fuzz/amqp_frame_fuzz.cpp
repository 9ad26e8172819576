// libFuzzer target for the AMQP protocol core: arbitrary bytes go through
// the frame reader, the method decoder and a content assembler per channel,
// as a broker's bytes would, and through the field-table and method decoders
// directly. Beyond not crashing (ASan, UBSan), whatever decodes must encode,
// and decode again to the same encoding: the codec is a fixed point after
// one round (the first may normalise: a 't' of 2 becomes 1, reserved
// fields and unused bits become 0).
//
// Byte 0 of the input chooses the reader's frame_max (bit 0) and how the
// stream is cut into reads (bits 1-3); the rest is the stream.
#include <courier/amqp/content_assembler.hpp>
#include <courier/amqp/field_table.hpp>
#include <courier/amqp/frame_reader.hpp>
#include <courier/amqp/methods.hpp>
#include <courier/amqp/properties.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

namespace amqp = courier::amqp;

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

void check_method(std::string_view payload) {
    auto m = amqp::decode_method(payload);
    if (!m) return;
    std::string once;
    require(!amqp::encode_method(once, *m));
    auto again = amqp::decode_method(once);
    require(again.has_value());
    require(amqp::key_of(*again) == amqp::key_of(*m));
    std::string twice;
    require(!amqp::encode_method(twice, *again));
    require(twice == once);
}

void check_table(std::string_view bytes) {
    amqp::field_table t;
    std::string_view in = bytes;
    if (amqp::decode_field_table(in, t)) return;
    require(in.size() < bytes.size());
    std::string once;
    require(!amqp::encode_field_table(once, t));
    amqp::field_table again;
    std::string_view in2 = once;
    require(!amqp::decode_field_table(in2, again));
    require(in2.empty());
    std::string twice;
    require(!amqp::encode_field_table(twice, again));
    require(twice == once);
}

void check_content_header(std::string_view payload) {
    amqp::content_header h;
    if (amqp::decode_content_header(payload, h)) return;
    std::string once;
    require(!amqp::encode_content_header(once, h.body_size, h.properties, h.class_id));
    amqp::content_header again;
    require(!amqp::decode_content_header(once, again));
    std::string twice;
    require(!amqp::encode_content_header(twice, again.body_size, again.properties, again.class_id));
    require(twice == once);
}

void run_stream(std::uint8_t options, std::string_view stream) {
    static constexpr std::size_t chunks[] = {1, 2, 3, 7, 64, 512, 4096, std::size_t(-1)};
    const std::size_t chunk = chunks[(options >> 1) & 7];
    amqp::frame_reader reader((options & 1) ? amqp::default_frame_max : amqp::frame_min_size);
    std::map<std::uint16_t, amqp::content_assembler> channels;
    courier::error_code ec;
    while (true) {
        while (auto f = reader.next(ec)) {
            require(f->payload.size() + amqp::frame_overhead <= reader.frame_max());
            if (f->type == amqp::frame_type::method) check_method(f->payload);
            if (f->type == amqp::frame_type::header) check_content_header(f->payload);
            // A small limit sometimes, so contents over it are streamed too.
            const std::uint64_t limit = (options & 16) ? 16 : 1u << 20;
            auto& assembler = channels.try_emplace(f->channel, limit).first->second;
            courier::error_code content_ec;
            const auto event = assembler.feed(*f, content_ec);
            if (event == amqp::content_assembler::event::content) {
                std::string props;
                require(!amqp::encode_properties(props, assembler.properties()));
                require(amqp::carries_content(assembler.current_method()));
                require(assembler.body().size() <= limit);
            }
            if (event == amqp::content_assembler::event::large_content) require(assembler.too_large() && assembler.body().empty());
            if (event == amqp::content_assembler::event::large_part) require(assembler.body().size() <= f->payload.size());
        }
        if (ec || stream.empty()) break;
        const std::size_t taken = reader.feed(stream.substr(0, chunk));
        require(taken > 0);  // prepare() never returns an empty region once frames are drained
        stream.remove_prefix(taken);
    }
    if (ec == amqp::error::protocol_version_mismatch) require(reader.server_protocol_header().size() == 8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    run_stream(data[0], rest);
    check_method(rest);
    check_table(rest);
    check_content_header(rest);
    return 0;
}
