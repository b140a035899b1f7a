// Data minimisation: what the recipient of a disclosure is shown of the application.
//
// A legal rule, so it lives here once, and every path that shows an organisation application
// fields uses it: the outbox (the outbound notification.disclosed / task.requested events), the
// API's participant views of events and of the case (engine/core/case_query.h) and the exports
// built on those views. The rule: a disclosure (NotificationDisclosed or TaskRequested) names
// paths, the action's fields that the application has; the recipient sees the application's
// value at each of them, under the path, in the disclosure's order (an object whole), and
// nothing else of the application.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "engine/common/value.h"
#include "engine/runtime/events.h"

namespace amtsweg::runtime {

// {path: value} for each of `paths` that the application has, in the order of `paths`; paths it
// does not have are left out.
Value ProjectFields(const Value& application, const std::vector<std::string>& paths);

// Whether `e` discloses application fields: notification.disclosed or task.requested.
bool IsDisclosure(const DomainEvent& e);
// The organisation a disclosure tells (empty for a request to nobody); empty for other events.
const std::string& RecipientOf(const DomainEvent& e);
// The paths a disclosure names; empty for other events.
const std::vector<std::string>& DisclosedFieldsOf(const DomainEvent& e);

// The recipient's view of a disclosure: the event's data in stored order, without `new`, with
// `fields` as ProjectFields(application, fields). Null for events that are no disclosure.
// `application` is the case's (case.opened).
Value RecipientView(const Value& application, const DomainEvent& e);
// The members of RecipientView as JSON, each as `,"key":value`, appended to `*out` (the outbox
// writes its own members first): the same bytes as the view's JSON, without building it.
// Appends nothing for events that are no disclosure.
void AppendRecipientViewJson(const Value& application, const DomainEvent& e, std::string* out);

}  // namespace amtsweg::runtime
