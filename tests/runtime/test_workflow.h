// A small workflow and directory shared by the runtime and engine tests: every construct of the
// language once (roles by area, conditional and fixed roles, notify, parallel request with a
// join, an auto transition, a deadline with extension and expiry, withdrawal).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"
#include "engine/runtime/events.h"

namespace amtsweg::testing {

inline constexpr char kDirectoryYaml[] = R"yaml(
organisations:
  - {id: amt-kiel, kind: municipal, name: Amt Kiel, functions: [amt], area: ["01002"]}
  - {id: amt-luebeck, kind: municipal, name: Amt Lübeck, functions: [amt], area: ["01003"]}
  - {id: ihk-kiel, kind: chamber, name: IHK Kiel, functions: [ihk], area: ["01002"]}
  - {id: ihk-luebeck, kind: chamber, name: IHK Lübeck, functions: [ihk], area: ["01003"]}
  - {id: hwk-nord, kind: chamber, name: HWK Nord, functions: [hwk], area: ["01"]}
  - {id: land, kind: state, name: Landesamt, functions: [land], seat: "01002000"}
)yaml";

inline constexpr char kWorkflowYaml[] = R"yaml(
name: testflow
version: 1
title: Test workflow
leika: "99000000000001"
authority: amt
roles:
  amt:
    bind: {function: amt, area: application.ags}
  kammer:
    bind:
      - {when: application.craft == true, function: hwk, area: application.ags}
      - {function: ihk, area: application.ags}
  land:
    when: application.special == true
    bind: {organisation: land}
tasks:
  hearing: {}
  decision:
    answer: decision
    answers: {approved: {}, rejected: {}}
variables:
  consent: {type: string, default: null}
  heard: {type: bool, default: false}
deadlines:
  fiction:
    duration: P3M
    extensions: 1
    max_extension: P1M
    extendable_by: amt
    on_expiry:
      to: deemed
      effect: "deemed approved (§42a VwVfG)"
start:
  to: received
  actions:
    - notify: {roles: [kammer], fields: [name, ags], basis: "§1 Test", message: new case}
states:
  received:
    transitions:
      - on: de.amtsweg.documents.completed
        from: amt
        actions:
          - start: fiction
          - request: {task: hearing, roles: [kammer, land], join: all, fields: [name], basis: "§2 Test"}
        to: hearing
  hearing:
    transitions:
      - on: {response: hearing, from: kammer}
        when: data.objection == true
        actions:
          - set: {variable: consent, value: "'refused'"}
      - on: {joined: hearing}
        actions:
          - set: {variable: heard, value: "true"}
      - when: vars.heard
        to: deciding
  deciding:
    on_enter:
      - request: {task: decision, roles: [amt], fields: [name, ags], basis: "§3 Test"}
    transitions:
      - on: {response: decision, from: amt}
        when: data.decision == 'approved'
        actions:
          - cancel: fiction
        to: approved
      - on: {response: decision, from: amt}
        when: data.decision == 'rejected'
        to: rejected
  approved: {terminal: approved}
  rejected: {terminal: rejected}
  deemed: {terminal: deemed_approved}
)yaml";

struct TestWorld {
  std::unique_ptr<dsl::Directory> directory;
  dsl::Registry registry;

  TestWorld() {
    auto dir = dsl::Directory::Parse(kDirectoryYaml, "directory.yaml");
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    directory = std::move(dir).value();
    dsl::LoadResult r = dsl::LoadDefinition(kWorkflowYaml, "testflow.yaml", directory.get());
    for (const auto& e : r.errors)
      ADD_FAILURE() << e.ToString();
    EXPECT_TRUE(registry.Add(r.definition).ok());
  }
};

// Builds input events tersely.
inline runtime::InputEvent Input(std::string id, std::string_view type, std::string subject,
                                 std::string_view time, Value data = Value::Object({}),
                                 std::string participant = "") {
  runtime::InputEvent in;
  in.id = std::move(id);
  in.source = "test";
  in.type = std::string(type);
  in.subject = std::move(subject);
  in.participant = std::move(participant);
  in.time = *ParseTimestamp(time);
  in.data = std::move(data);
  return in;
}

// The same input as a CloudEvent line for case C-1 (what a source reads), from source "test".
inline std::string CaseEvent(std::string id, std::string_view type, std::string_view time,
                             Value data, std::string participant = "") {
  ObjectBuilder b;
  b.Add("specversion", "1.0").Add("id", std::move(id)).Add("source", "test");
  b.Add("type", type).Add("subject", "C-1").Add("time", time);
  if (!participant.empty()) b.Add("participant", std::move(participant));
  b.Add("data", std::move(data));
  return b.Build().ToJson();
}

inline Value Application(std::string_view ags, bool craft = false, bool special = false) {
  return ObjectBuilder()
      .Add("leika", "99000000000001")
      .Add("name", "Jensen GmbH")
      .Add("ags", ags)
      .Add("craft", craft)
      .Add("special", special)
      .Add("secret", "not for chambers")
      .Build();
}

}  // namespace amtsweg::testing
