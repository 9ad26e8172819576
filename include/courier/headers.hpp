// A small ordered string→string map: message headers and context metadata.
// Lookups are linear on purpose: there are a handful of entries, and a vector
// keeps insertion order (what goes on the wire) and moves cheaply.
#ifndef COURIER_HEADERS_HPP
#define COURIER_HEADERS_HPP

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier {

/// Ordered string→string map with unique keys; keys compare case-sensitively.
class headers {
public:
    using value_type = std::pair<std::string, std::string>;
    using const_iterator = std::vector<value_type>::const_iterator;

    headers() = default;
    headers(std::initializer_list<value_type> init) {
        for (const auto& [k, v] : init) set(k, v);
    }

    /// The value for `key`, or nullptr.
    const std::string* find(std::string_view key) const noexcept {
        auto it = locate(key);
        return it == entries_.end() ? nullptr : &it->second;
    }
    /// The value for `key`, or `fallback`.
    std::string_view get(std::string_view key, std::string_view fallback = {}) const noexcept {
        const auto* v = find(key);
        return v ? std::string_view(*v) : fallback;
    }
    bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

    /// Inserts or replaces; a replaced entry keeps its position.
    void set(std::string_view key, std::string value) {
        auto it = locate(key);
        if (it != entries_.end()) it->second = std::move(value);
        else entries_.emplace_back(std::string(key), std::move(value));
    }
    /// Removes `key`; returns whether it was present.
    bool erase(std::string_view key) {
        auto it = locate(key);
        if (it == entries_.end()) return false;
        entries_.erase(it);
        return true;
    }
    void clear() noexcept { entries_.clear(); }

    const_iterator begin() const noexcept { return entries_.begin(); }
    const_iterator end() const noexcept { return entries_.end(); }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }

    friend bool operator==(const headers&, const headers&) = default;

private:
    std::vector<value_type>::iterator locate(std::string_view key) noexcept {
        return std::find_if(entries_.begin(), entries_.end(),
                            [&](const value_type& e) { return e.first == key; });
    }
    std::vector<value_type>::const_iterator locate(std::string_view key) const noexcept {
        return std::find_if(entries_.begin(), entries_.end(),
                            [&](const value_type& e) { return e.first == key; });
    }

    std::vector<value_type> entries_;
};

}  // namespace courier

#endif
