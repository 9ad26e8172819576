// The seed story's messages, as JSON on the wire (the same shapes the seed's
// JavaScript services send), shared by the example services.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace seed {

struct get_user {
    std::string userId;
    static constexpr bool idempotent = true;  // a lookup: safe to retry
};
struct user {
    std::string id, name, email;
};
struct create_order {
    std::string userId, productId;
    double amount = 0;
};
struct order {
    std::string id, userId, productId;
    double amount = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name, email)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(create_order, userId, productId, amount)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order, id, userId, productId, amount)

}  // namespace seed
