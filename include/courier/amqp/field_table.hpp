// AMQP field tables and arrays (spec 4.2.5.5 with RabbitMQ's errata): the
// typed name/value maps of message headers, queue and exchange arguments,
// and the client and server properties of the connection handshake.
//
// The value types are those RabbitMQ sends and accepts, keyed by their wire
// tag: t bool, b int8, B uint8, s int16, u uint16, I int32, i uint32, l int64,
// f float, d double, D decimal, S long string, A array, T timestamp,
// F table, V void, x byte array. (The spec's 's' short string, 'U', 'L' and
// 'l' as uint64 are what RabbitMQ's errata replaced; nothing sends them.)
//
// Decoding is bounded: lengths are checked against the bytes present before
// anything is allocated, and tables and arrays may nest max_nesting_depth
// deep (a hostile table cannot exhaust the stack).
#ifndef COURIER_AMQP_FIELD_TABLE_HPP
#define COURIER_AMQP_FIELD_TABLE_HPP

#include <courier/amqp/error.hpp>

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace courier::amqp {

class field_value;

/// An ordered sequence of values ('A').
using field_array = std::vector<field_value>;

/// A decimal ('D'): value / 10^scale.
struct decimal {
    std::uint8_t scale = 0;
    std::uint32_t value = 0;
    friend bool operator==(const decimal&, const decimal&) = default;
};

/// A timestamp ('T'): seconds since the Unix epoch.
struct timestamp {
    std::uint64_t seconds = 0;
    friend bool operator==(const timestamp&, const timestamp&) = default;
};

/// A byte array ('x'), RabbitMQ's binary twin of the long string 'S'.
struct byte_array {
    std::string bytes{};
    friend bool operator==(const byte_array&, const byte_array&) = default;
};

/// A table ('F'): name/value pairs in wire order. Names are short strings
/// (at most 255 bytes). Decoding keeps duplicate names as they came;
/// find() returns the first.
class field_table {
public:
    using value_type = std::pair<std::string, field_value>;
    using iterator = std::vector<value_type>::iterator;
    using const_iterator = std::vector<value_type>::const_iterator;

    field_table() = default;
    field_table(std::initializer_list<value_type> init);

    /// The first value named `name`, or nullptr.
    const field_value* find(std::string_view name) const noexcept;
    field_value* find(std::string_view name) noexcept;
    bool contains(std::string_view name) const noexcept;

    /// Replaces the value of `name` in place, or appends it.
    void set(std::string_view name, field_value value);
    /// Appends without looking for an existing entry.
    void push_back(std::string name, field_value value);
    /// Removes every entry named `name`; returns whether there was one.
    bool erase(std::string_view name);

    // Defined with the rest, after field_value is complete: the entries'
    // type needs it.
    iterator begin() noexcept;
    iterator end() noexcept;
    const_iterator begin() const noexcept;
    const_iterator end() const noexcept;
    std::size_t size() const noexcept;
    bool empty() const noexcept;
    void clear() noexcept;
    void reserve(std::size_t n);

    friend bool operator==(const field_table& a, const field_table& b);

private:
    std::vector<value_type> entries_;
};

namespace detail {
using field_variant = std::variant<std::monostate,  // 'V'
                                   bool,            // 't'
                                   std::int8_t,     // 'b'
                                   std::uint8_t,    // 'B'
                                   std::int16_t,    // 's'
                                   std::uint16_t,   // 'u'
                                   std::int32_t,    // 'I'
                                   std::uint32_t,   // 'i'
                                   std::int64_t,    // 'l'
                                   float,           // 'f'
                                   double,          // 'd'
                                   decimal,         // 'D'
                                   std::string,     // 'S'
                                   field_array,     // 'A'
                                   timestamp,       // 'T'
                                   field_table,     // 'F'
                                   byte_array>;     // 'x'
}  // namespace detail

/// One typed value: a std::variant over the types above (default: void).
/// Construct it from the C++ type of the wire type wanted:
/// `field_value{std::int64_t{5}}`, `field_value{true}`,
/// `field_value{std::string("text")}`, `field_value{field_table{...}}`.
class field_value : public detail::field_variant {
public:
    using detail::field_variant::field_variant;
    using detail::field_variant::operator=;

    const detail::field_variant& as_variant() const noexcept { return *this; }
    detail::field_variant& as_variant() noexcept { return *this; }

    template <class T>
    bool is() const noexcept { return std::holds_alternative<T>(as_variant()); }
    template <class T>
    const T* get_if() const noexcept { return std::get_if<T>(&as_variant()); }
    template <class T>
    T* get_if() noexcept { return std::get_if<T>(&as_variant()); }

    /// The wire tag of the held type ('V', 't', 'b', ...).
    char tag() const noexcept;

    /// Equality of the held types and values; floats compare as floats
    /// (a NaN is unequal to itself).
    friend bool operator==(const field_value& a, const field_value& b) {
        return a.as_variant() == b.as_variant();
    }
};

/// How deep tables and arrays may nest: a table inside a table is depth 2.
/// RabbitMQ's own deepest (x-death: headers > array > table > array) is 4.
inline constexpr unsigned max_nesting_depth = 32;

/// Appends `table` as the wire's table: a 32-bit byte length, then each name
/// (short string) and typed value. Fails with error::field_too_long (a name
/// over 255 bytes, a table or string over 4 GiB) or error::nesting_too_deep,
/// leaving `out` as it was.
error_code encode_field_table(std::string& out, const field_table& table);

/// Decodes a length-prefixed table from the front of `in` into `out`
/// (replacing its contents) and advances `in` past it. Errors:
/// error::truncated_payload, error::bad_field_type, error::nesting_too_deep.
/// On error, `in` is unchanged and `out` holds an unspecified valid table.
error_code decode_field_table(std::string_view& in, field_table& out, unsigned max_depth = max_nesting_depth);

}  // namespace courier::amqp

#include <courier/amqp/impl/field_table.hpp>

#endif
