// Where an organisation's outbound events go. One rule, used by the engine when it writes an
// outbox entry, by `amtsweg run` when it creates topics and webhook endpoints, and by the routing
// sink (connectors/webhook) when it tells webhook destinations from topics. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "engine/dsl/directory.h"

namespace amtsweg::core {

// Destinations of organisations that receive their events by webhook: this prefix and the id.
inline constexpr std::string_view kWebhookDestinationPrefix = "webhook:";

// "webhook:<id>" when the organisation has a webhook (delivered by connectors/webhook), else its
// configured topic, else "amtsweg.org.<id>".
std::string OrganisationDestination(const dsl::Organisation& org);

}  // namespace amtsweg::core
