// The one projection of a recipient's fields (projection.h): what it shows of the application,
// and that its two forms (the view as a Value, the outbox's JSON) are the same bytes. The
// property over generated cases, through the outbox and the API's views, is
// tests/core/projection_property_test.cc.
#include "engine/runtime/projection.h"

#include <gtest/gtest.h>

namespace amtsweg::runtime {
namespace {

Value Json(std::string_view text) {
  Result<Value> v = Value::ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : Value();
}

const Value kApplication =
    Json(R"({"name":"Jensen GmbH","betrieb":{"ags":"01002000","inhaber":{"name":"Jensen"}},)"
         R"("register":null,"secret":"not for chambers","list":[1,2]})");

// The JSON of the view, as the outbox writes it after its own members.
std::string ViewJson(const DomainEvent& e) {
  std::string members;
  AppendRecipientViewJson(kApplication, e, &members);
  return members.empty() ? "" : "{" + members.substr(1) + "}";
}

TEST(ProjectionTest, ShowsTheValuesAtThePathsTheApplicationHasInTheirOrder) {
  EXPECT_EQ(ProjectFields(kApplication, {"betrieb.ags", "name", "missing", "name.first",
                                         "betrieb.inhaber", "register", "list.0"})
                .ToJson(),
            R"({"betrieb.ags":"01002000","name":"Jensen GmbH",)"
            R"("betrieb.inhaber":{"name":"Jensen"},"register":null})");
  EXPECT_EQ(ProjectFields(kApplication, {"betrieb"}).ToJson(),
            R"({"betrieb":{"ags":"01002000","inhaber":{"name":"Jensen"}}})");
  EXPECT_EQ(ProjectFields(kApplication, {}).ToJson(), "{}");
  EXPECT_EQ(ProjectFields(Value(), {"name"}).ToJson(), "{}");
}

TEST(ProjectionTest, TheRecipientSeesTheDisclosureWithValuesInsteadOfPaths) {
  DomainEvent told = MakeEvent(4, 0, "a1",
                               NotificationDisclosed{.role = "antragsteller",
                                                     .organisation = "portal",
                                                     .fields = {"name", "betrieb.ags"},
                                                     .content = Json(R"({"frist":"P1M"})"),
                                                     .reply_reference = "postfach-7",
                                                     .basis = "§1",
                                                     .message = "Eingang"});
  const std::string expected =
      R"({"role":"antragsteller","organisation":"portal",)"
      R"("fields":{"name":"Jensen GmbH","betrieb.ags":"01002000"},"content":{"frist":"P1M"},)"
      R"("reply_reference":"postfach-7","basis":"§1","message":"Eingang"})";
  EXPECT_EQ(RecipientView(kApplication, told).ToJson(), expected);
  EXPECT_EQ(ViewJson(told), expected);
  EXPECT_TRUE(IsDisclosure(told));
  EXPECT_EQ(RecipientOf(told), "portal");
  EXPECT_EQ(DisclosedFieldsOf(told), (std::vector<std::string>{"name", "betrieb.ags"}));

  DomainEvent asked = MakeEvent(5, 0, "a1",
                                TaskRequested{.task = "hearing",
                                              .new_request = true,
                                              .role = "kammer",
                                              .organisation = "ihk-kiel",
                                              .join = "all",
                                              .need = 2,
                                              .fields = {"betrieb"},
                                              .content = std::nullopt,
                                              .basis = "§2"});
  const std::string request =
      R"({"task":"hearing","role":"kammer","organisation":"ihk-kiel","join":"all","need":2,)"
      R"("fields":{"betrieb":{"ags":"01002000","inhaber":{"name":"Jensen"}}},"basis":"§2"})";
  EXPECT_EQ(RecipientView(kApplication, asked).ToJson(), request);
  EXPECT_EQ(ViewJson(asked), request);
}

TEST(ProjectionTest, OtherEventsDiscloseNothing) {
  DomainEvent e =
      MakeEvent(2, 0, "a1", ParticipantResolved{.role = "r", .organisation = "o", .name = "n"});
  EXPECT_FALSE(IsDisclosure(e));
  EXPECT_TRUE(RecipientOf(e).empty());
  EXPECT_TRUE(DisclosedFieldsOf(e).empty());
  EXPECT_TRUE(RecipientView(kApplication, e).is_null());
  EXPECT_EQ(ViewJson(e), "");
}

}  // namespace
}  // namespace amtsweg::runtime
