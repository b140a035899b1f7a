#include "engine/core/destination.h"

namespace amtsweg::core {

std::string OrganisationDestination(const dsl::Organisation& org) {
  if (!org.webhook.empty()) return std::string(kWebhookDestinationPrefix) + org.id;
  return org.topic.empty() ? "amtsweg.org." + org.id : org.topic;
}

}  // namespace amtsweg::core
