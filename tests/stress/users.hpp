// The request and reply the stress tests send: a user looked up by id, the
// reply carrying the id back so a test can tell it got its own answer.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace courier_stress {

struct get_user {
    std::string id;
    static constexpr bool idempotent = true;
};
struct user {
    std::string id;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(get_user, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id)

}  // namespace courier_stress
