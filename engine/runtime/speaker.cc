// CheckSpeaker (runtime.h): whether an input may speak for the organisation it claims.
#include <string>

#include "engine/runtime/runtime.h"

namespace amtsweg::runtime {

namespace {

std::string ChannelText(const InputEvent& in) {
  return in.channel.empty() ? std::string("its channel") : "channel " + in.channel;
}

}  // namespace

std::optional<Rejection> CheckSpeaker(const InputEvent& in, const dsl::Directory& directory) {
  if (in.type == input_type::kClockAdvanced || in.type == input_type::kTimerFired)
    return std::nullopt;
  const bool bound = !in.channel_organisation.empty();
  const dsl::Organisation* by_source = directory.OrganisationForSource(in.source);
  if (bound && by_source != nullptr && by_source->id != in.channel_organisation) {
    return Rejection{"impersonation", "source '" + in.source + "' belongs to '" + by_source->id +
                                          "', but " + ChannelText(in) + " speaks for '" +
                                          in.channel_organisation + "'"};
  }
  if (in.participant.empty()) return std::nullopt;
  if (bound && in.participant != in.channel_organisation) {
    return Rejection{"impersonation", "participant '" + in.participant + "' claimed, but " +
                                          ChannelText(in) + " speaks for '" +
                                          in.channel_organisation + "'"};
  }
  if (by_source != nullptr && in.participant != by_source->id) {
    return Rejection{"impersonation", "participant '" + in.participant + "' claimed, but source '" +
                                          in.source + "' speaks for '" + by_source->id + "'"};
  }
  if (!bound && by_source == nullptr && directory.participants_must_be_bound()) {
    return Rejection{"unbound-participant",
                     "participant '" + in.participant + "' claimed on a channel bound to no " +
                         "organisation, from source '" + in.source +
                         "', which the directory maps to none (sources, sends_from); this "
                         "installation requires participants to be bound "
                         "(participants_must_be_bound)"};
  }
  return std::nullopt;
}

}  // namespace amtsweg::runtime
