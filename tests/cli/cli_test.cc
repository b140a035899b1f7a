// End to end: drives the amtsweg binary over the shipped workflows, directory and sample
// streams, and checks what a user would: final states, deadlines, each recipient's disclosed
// fields, replay, audit, dead letters and the command line's errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "engine/common/value.h"
#include "engine/dsl/loader.h"
#include "engine/store/store.h"
#include "tests/testing/binary.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;

const std::string kRepo = AMTSWEG_SOURCE_DIR;

using amtsweg::testing::JsonLines;
using amtsweg::testing::Output;

Output Amtsweg(const std::string& args) {
  return amtsweg::testing::RunAmtsweg(args);
}

std::string SampleSources() {
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(kRepo + "/workflows/samples")) {
    if (f.path().extension() == ".jsonl") files.push_back(f.path().string());
  }
  std::sort(files.begin(), files.end());
  std::string args;
  for (const std::string& f : files)
    args += " --source file:" + f;
  return args;
}

// The figures of `run`'s summary line.
struct Summary {
  bool found = false;
  uint64_t inputs = 0, accepted = 0, refused = 0, duplicates = 0;
  uint64_t timers = 0, expired = 0, stale = 0, timers_refused = 0;
  std::string clock;  // of the "clock now" line
};

Summary ParseSummary(const std::string& out) {
  Summary s;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long n[8] = {};
    double secs = 0, rate = 0;
    char rest[64] = "";
    if (std::sscanf(line.c_str(),
                    "processed %llu inputs in %lf s (%lf inputs/s): %llu accepted, %llu refused, "
                    "%llu duplicates; %llu deadline timers fired (%llu expired, %llu stale%63[^)]",
                    &n[0], &secs, &rate, &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], rest) >= 9) {
      s.found = true;
      s.inputs = n[0];
      s.accepted = n[1];
      s.refused = n[2];
      s.duplicates = n[3];
      s.timers = n[4];
      s.expired = n[5];
      s.stale = n[6];
      if (std::sscanf(rest, ", %llu refused", &n[7]) == 1) s.timers_refused = n[7];
    }
    if (line.rfind("clock now ", 0) == 0) s.clock = line.substr(10);
  }
  return s;
}

// Lines of `path` that are not blank: the inputs a file source reads from it.
uint64_t InputLines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line))
    n += line.find_first_not_of(" \t\r") != std::string::npos;
  return n;
}

std::string ClockEvent(const std::string& id, const std::string& time) {
  return R"({"specversion":"1.0","id":")" + id +
         R"(","source":"urn:amtsweg:test","type":"de.amtsweg.clock.advanced","time":")" + time +
         R"("})";
}

class CliTest : public ::testing::Test {
 protected:
  static std::unique_ptr<testing::TempDir> dir_;
  static std::string data_;
  static Output run_;

  static std::string Common() {
    return "--workflows " + kRepo + "/workflows --directory " + kRepo +
           "/workflows/directory/schleswig-holstein.yaml";
  }

  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>("amtsweg-cli");
    data_ = dir_->path() + "/data";
    run_ = Amtsweg("run " + Common() + " --data-dir " + data_ + SampleSources() +
                   " --until-idle --advance-to 2028-12-31T00:00:00Z");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  std::string D() const { return " --data-dir " + data_; }

  std::map<std::string, Value> Cases() {
    Output o = Amtsweg("case list --json" + D());
    EXPECT_EQ(o.code, 0) << o.err;
    std::map<std::string, Value> out;
    for (const Value& v : JsonLines(o.out))
      out[v["case"].as_string()] = v;
    return out;
  }

  Value Show(const std::string& id) {
    Output o = Amtsweg("case show --json " + id + D());
    EXPECT_EQ(o.code, 0) << o.err;
    Result<Value> v = Value::ParseJson(o.out);
    return v.ok() ? *v : Value();
  }

  const Value* Deadline(const Value& c, std::string_view name) {
    for (const Value& d : c["deadlines"].items()) {
      if (d["deadline"].as_string() == name) return &d;
    }
    return nullptr;
  }
};

std::unique_ptr<testing::TempDir> CliTest::dir_;
std::string CliTest::data_;
Output CliTest::run_;

TEST_F(CliTest, RunSucceedsAndReportsWhatItDid) {
  ASSERT_EQ(run_.code, 0) << run_.err;
  EXPECT_NE(run_.out.find("processed 90 inputs"), std::string::npos) << run_.out;
  EXPECT_NE(run_.out.find("17 cases opened"), std::string::npos) << run_.out;
}

TEST_F(CliTest, EveryCaseEndsWhereTheScenarioLeadsIt) {
  std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"GA-2026-0001", {"mitgeteilt", "notified"}},
      {"GA-2026-0002", {"mitgeteilt", "notified"}},
      {"GA-2026-0003", {"zurueckgewiesen", "rejected"}},
      {"GA-2026-0004", {"withdrawn", "withdrawn"}},
      {"GA-2026-0005", {"mitgeteilt", "notified"}},
      {"GA-2026-0006", {"mitgeteilt", "notified"}},  // given by its ARS
      {"GA-2026-0007", {"mitgeteilt", "notified"}},  // scanned on paper: no reply channel
      {"GA-2027-0003", {"pruefung", "open"}},
      {"BA-2026-0001", {"genehmigt", "approved"}},
      {"BA-2026-0002", {"abgelehnt", "rejected"}},
      {"HR-2026-0001", {"eingetragen", "approved"}},
      {"HR-2026-0002", {"fiktiv_eingetragen", "deemed_approved"}},
      {"HR-2026-0003", {"eingetragen", "approved"}},
      {"HR-2026-0004", {"eingetragen", "approved"}},
      {"HR-2027-0001", {"fiktiv_eingetragen", "deemed_approved"}},  // over Whit Monday 2027
      {"BI-2026-0001", {"genehmigt", "approved"}},
      {"BI-2026-0002", {"beteiligung", "open"}},
  };
  std::map<std::string, Value> cases = Cases();
  ASSERT_EQ(cases.size(), expected.size());
  for (const auto& [id, want] : expected) {
    ASSERT_TRUE(cases.count(id)) << id;
    EXPECT_EQ(cases[id]["state"].as_string(), want.first) << id;
    EXPECT_EQ(cases[id]["outcome"].as_string(), want.second) << id;
  }
  Output filtered = Amtsweg("case list --json --outcome deemed_approved" + D());
  ASSERT_EQ(JsonLines(filtered.out).size(), 2u);
  Output by_org = Amtsweg("case list --json --participant hwk-luebeck" + D());
  std::set<std::string> ids;
  for (const Value& v : JsonLines(by_org.out))
    ids.insert(v["case"].as_string());
  EXPECT_TRUE(ids.count("GA-2026-0001"));   // a craft business in Kiel
  EXPECT_FALSE(ids.count("GA-2026-0002"));  // IT consultancy: no HWK
}

TEST_F(CliTest, ACraftOfAnlageAIsConfirmedWithTheChamberBeforeTheReceipt) {
  // Bäckerei (Anlage A HwO) with a Handwerkskarte: the HWK confirms it, then the office checks.
  Output o = Amtsweg("case history GA-2026-0001" + D());
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<std::string> steps;
  for (const Value& e : JsonLines(o.out)) {
    const std::string& type = e["type"].as_string();
    if (type == "state.entered") steps.push_back("enter " + e["data"]["state"].as_string());
    if (type == "task.requested") steps.push_back("ask " + e["data"]["organisation"].as_string());
    if (type == "notification.disclosed" && e["data"]["role"].as_string() == "antragsteller")
      steps.push_back("tell applicant: " + e["data"]["message"].as_string());
  }
  EXPECT_EQ(
      steps,
      (std::vector<std::string>{
          "tell applicant: Eingangsbestätigung", "enter eingang", "enter handwerksrolle",
          "ask hwk-luebeck", "enter pruefung", "ask gewerbeamt-kiel",
          "tell applicant: Empfangsbescheinigung über die Gewerbeanzeige", "enter mitgeteilt"}));
  // Not entered (GA-2026-0006): the HWK hears of it under §16 Abs. 3 HwO.
  Value ga6 = Show("GA-2026-0006");
  EXPECT_EQ(ga6["variables"]["handwerksrolle"].as_string(), "nicht_eingetragen");
  Output hwk6 = Amtsweg("case history GA-2026-0006" + D());
  EXPECT_NE(hwk6.out.find("§16 Abs. 3 HwO"), std::string::npos);
  // Anlage B1 (GA-2026-0005): only notified; no confirmation was asked.
  Output b1 = Amtsweg("case history GA-2026-0005" + D());
  EXPECT_EQ(b1.out.find("\"task\":\"handwerksrolle\""), std::string::npos);
  EXPECT_NE(b1.out.find("Gewerbeanmeldung eines Handwerksbetriebs"), std::string::npos);
}

TEST_F(CliTest, TheApplicantReceivesWhatTheLawSaysThroughThePortal) {
  // Every message to the applicant went to the portal's topic, with the applicant's postbox.
  std::map<std::string, std::vector<std::string>> told;  // case -> messages
  std::ifstream in(data_ + "/out/amtsweg.portal.ozg-portal-sh.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  while (std::getline(in, line)) {
    Value ev = Value::ParseJson(line).value();
    const Value& data = ev["data"];
    EXPECT_EQ(data["role"].as_string(), "antragsteller") << line;
    EXPECT_EQ(data["organisation"].as_string(), "ozg-portal-sh") << line;
    std::string id = ev["subject"].as_string();
    std::string lower = id;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    // The samples name a postbox in every application but the one in the bad-input stream.
    if (id != "GA-2027-0003") {
      EXPECT_EQ(data["reply_reference"].as_string(), "postfach-" + lower) << line;
    } else {
      EXPECT_EQ(data.Find("reply_reference"), nullptr) << line;
    }
    EXPECT_FALSE(data["basis"].as_string().empty()) << line;
    told[id].push_back(data["message"].as_string());
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(told["GA-2026-0003"],
            (V{"Eingangsbestätigung", "Die Gewerbeanzeige wurde zurückgewiesen"}));
  EXPECT_EQ(told["BA-2026-0001"],
            (V{"Eingangsbestätigung", "Nachforderung von Bauvorlagen",
               "Die Bauvorlagen sind vollständig", "Die Baugenehmigung ist erteilt"}));
  EXPECT_EQ(told["HR-2026-0002"],
            (V{"Eingangsbestätigung",
               "Die Unterlagen sind vollständig; die Eintragung in die Handwerksrolle ist "
               "beabsichtigt",
               "Die Eintragungsfrist ist abgelaufen; die Eintragung in die Handwerksrolle gilt als "
               "erfolgt",
               "Bescheinigung über den Eintritt der Genehmigungsfiktion"}));
  EXPECT_EQ(told["HR-2026-0003"],
            (V{"Eingangsbestätigung", "Nachforderung von Unterlagen",
               "Die Unterlagen sind vollständig; die Eintragung in die Handwerksrolle ist "
               "beabsichtigt",
               "Die Frist für die Eintragung in die Handwerksrolle wurde verlängert",
               "Der Betrieb ist in die Handwerksrolle eingetragen; die Handwerkskarte wird "
               "ausgestellt"}));
  EXPECT_EQ(
      told["BI-2026-0001"],
      (V{"Eingangsbestätigung", "Die Unterlagen sind vollständig; die Entscheidungsfrist läuft",
         "Die Entscheidungsfrist wurde verlängert", "Die Genehmigung ist erteilt"}));
  // The extension carries its reasons and the new end (§42a Abs. 2 Satz 4 VwVfG).
  Output hr3 = Amtsweg("case history HR-2026-0003" + D());
  bool reasoned = false;
  for (const Value& e : JsonLines(hr3.out)) {
    if (e["data"]["message"].as_string() !=
        "Die Frist für die Eintragung in die Handwerksrolle "
        "wurde verlängert")
      continue;
    reasoned = e["data"]["content"]["begruendung"].as_string() ==
                   "Gleichwertigkeit der ausländischen Qualifikation wird geprüft" &&
               !e["data"]["content"]["neues_fristende"].as_string().empty();
  }
  EXPECT_TRUE(reasoned) << hr3.out;
  // A paper notification has no reply channel: every message to the applicant is recorded as
  // not delivered, with the reason.
  EXPECT_TRUE(told["GA-2026-0007"].empty());
  Output ga7 = Amtsweg("case history GA-2026-0007" + D());
  size_t undelivered = 0;
  for (const Value& e : JsonLines(ga7.out)) {
    if (e["type"].as_string() != "notification.undeliverable") continue;
    ++undelivered;
    EXPECT_NE(e["data"]["reason"].as_string().find("no reply channel"), std::string::npos);
  }
  EXPECT_EQ(undelivered, 2u);  // the receipt of the filing and the Empfangsbescheinigung
}

TEST_F(CliTest, RefusedInputToAnOpenCaseIsInItsHistoryAndTheCaseCanStillClose) {
  Output o = Amtsweg("case history BI-2026-0002" + D());
  std::vector<std::string> kinds;
  for (const Value& e : JsonLines(o.out)) {
    if (e["type"].as_string() == "input.rejected") kinds.push_back(e["data"]["kind"].as_string());
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"not-a-participant", "invalid-extension", "wrong-role",
                                             "unknown-type", "invalid-answer", "invalid-answer",
                                             "unexpected-answer"}));
  // Nothing was recorded for the refused answers: the LfU's decision is still outstanding.
  Value bi2 = Show("BI-2026-0002");
  for (const Value& t : bi2["tasks"].items()) {
    if (t["task"].as_string() != "bescheid") continue;
    EXPECT_FALSE(t["roles"].items()[0]["responded"].as_bool());
  }
}

TEST_F(CliTest, DeadlinesFollowTheLegalCalendar) {
  // Documents complete Friday 10 July 2026: three months end on Saturday 10 October, so the
  // period runs to the end of Monday 12 October (§31 Abs. 3 VwVfG), 24:00 CEST.
  Value hr2 = Show("HR-2026-0002");
  EXPECT_EQ(hr2["closed_at"].as_string(), "2026-10-12T22:00:00Z");
  EXPECT_EQ((*Deadline(hr2, "eintragung"))["status"].as_string(), "expired");
  // Extended once by one month from the end of 15 October: 15 November is a Sunday.
  Value hr3 = Show("HR-2026-0003");
  EXPECT_EQ((*Deadline(hr3, "eintragung"))["due"].as_string(), "2026-11-16T23:00:00Z");
  EXPECT_EQ((*Deadline(hr3, "eintragung"))["extensions"].as_int(), 1);
  EXPECT_EQ((*Deadline(hr3, "eintragung"))["status"].as_string(), "cancelled");
  // The municipality's consent is deemed given two months after 20 March.
  Value ba1 = Show("BA-2026-0001");
  EXPECT_EQ((*Deadline(ba1, "einvernehmen"))["status"].as_string(), "expired");
  EXPECT_EQ((*Deadline(ba1, "einvernehmen"))["due"].as_string(), "2026-05-20T22:00:00Z");
  EXPECT_EQ(ba1["variables"]["einvernehmen"].as_string(), "fingiert");
  // The domain example: documents complete on Wednesday 17 February 2027; three months end on
  // Monday 17 May, Whit Monday, so the entry is deemed made at the end of Tuesday 18 May, by the
  // public holidays at the seat of the HWK (Lübeck, Schleswig-Holstein).
  Value hr27 = Show("HR-2027-0001");
  EXPECT_EQ(hr27["closed_at"].as_string(), "2027-05-18T22:00:00Z");
  EXPECT_EQ(hr27["outcome"].as_string(), "deemed_approved");
  Output history = Amtsweg("case history HR-2027-0001" + D());
  bool started = false;
  for (const Value& e : JsonLines(history.out)) {
    if (e["type"].as_string() != "deadline.started") continue;
    started = true;
    EXPECT_EQ(e["data"]["holidays"].as_string(), "DE-SH");
    EXPECT_EQ(e["data"]["holidays_of"].as_string(), "hwk-luebeck");
    EXPECT_EQ(e["data"]["skipped"].ToJson(), R"(["2027-05-17 Pfingstmontag"])");
    EXPECT_EQ(e["data"]["due"].as_string(), "2027-05-18T22:00:00Z");
  }
  EXPECT_TRUE(started) << history.out;
  // The BImSchG decision period expires without a deemed approval: the case stays open.
  Value bi2 = Show("BI-2026-0002");
  EXPECT_EQ((*Deadline(bi2, "entscheidungsfrist"))["status"].as_string(), "expired");
  EXPECT_TRUE(bi2["outcome"].is_null());
}

TEST_F(CliTest, DeadlinesListsRunningDeadlinesSoonestFirst) {
  // The wind farm stream up to March 2027: both decision periods are still running.
  std::string data = dir_->path() + "/running";
  std::string part = dir_->path() + "/bimschg-until-march.jsonl";
  {
    std::ifstream in(kRepo + "/workflows/samples/04-bimschg.jsonl");
    std::ofstream out(part);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("\"time\":\"2027-0") == std::string::npos ||
          line.find("\"time\":\"2027-03") != std::string::npos ||
          line.find("\"time\":\"2027-01") != std::string::npos ||
          line.find("\"time\":\"2027-02") != std::string::npos) {
        out << line << "\n";
      }
    }
  }
  Output run = Amtsweg("run -q " + Common() + " --data-dir " + data + " --source file:" + part +
                       " --until-idle");
  ASSERT_EQ(run.code, 0) << run.err;
  Output o = Amtsweg("deadlines --json --data-dir " + data);
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<Value> running = JsonLines(o.out);
  ASSERT_EQ(running.size(), 3u) << o.out;
  EXPECT_EQ(running[0]["case"].as_string(), "HR-2027-0001");
  EXPECT_EQ(running[0]["due"].as_string(), "2027-05-18T22:00:00Z");
  EXPECT_EQ(running[1]["case"].as_string(), "BI-2026-0001");
  EXPECT_EQ(running[1]["due"].as_string(), "2027-07-15T22:00:00Z");
  EXPECT_EQ(running[2]["case"].as_string(), "BI-2026-0002");
  EXPECT_EQ(running[2]["deadline"].as_string(), "entscheidungsfrist");
  EXPECT_EQ(running[2]["due"].as_string(), "2027-07-21T22:00:00Z");
  Output before = Amtsweg("deadlines --json --due-before 2027-07-20T00:00:00Z --data-dir " + data);
  EXPECT_EQ(JsonLines(before.out).size(), 2u) << before.out;
  Output none = Amtsweg("deadlines" + D());  // the full run let every deadline end
  EXPECT_NE(none.out.find("0 running deadline(s)"), std::string::npos) << none.out;
}

TEST_F(CliTest, HistoryShowsTheCertificateOfTheDeemedEntry) {
  Output o = Amtsweg("case history HR-2026-0002" + D());
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<Value> events = JsonLines(o.out);
  ASSERT_FALSE(events.empty());
  // The certificate, then the notices of it to the applicant and the HWK.
  ASSERT_GE(events.size(), 3u);
  const Value& certificate = events[events.size() - 3];
  EXPECT_EQ(certificate["type"].as_string(), "certificate.issued");
  EXPECT_EQ(certificate["data"]["basis"].as_string(), "§42a Abs. 3 VwVfG");
  EXPECT_EQ(certificate["data"]["requested_by"].as_string(), "ozg-portal-sh");
  EXPECT_EQ(events[events.size() - 2]["data"]["organisation"].as_string(), "ozg-portal-sh");
  EXPECT_EQ(events.back()["data"]["organisation"].as_string(), "hwk-flensburg");
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["seq"].as_int(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i]["hash"].as_string().size(), 64u);
  }
}

TEST_F(CliTest, EachRecipientReceivesOnlyItsAllowedFields) {
  auto dir = dsl::Directory::Load(kRepo + "/workflows/directory/schleswig-holstein.yaml");
  ASSERT_TRUE(dir.ok());
  dsl::RegistryLoadResult reg = dsl::LoadRegistry(kRepo + "/workflows", dir->get());
  ASSERT_TRUE(reg.errors.empty());
  // Allowed fields per (workflow, role): the union of every notify/request action's fields.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> allowed;
  auto collect = [&](const dsl::Definition& def, const std::vector<dsl::Action>& actions) {
    for (const dsl::Action& a : actions) {
      for (const std::string& role : a.roles) {
        allowed[{def.name, role}].insert(a.fields.begin(), a.fields.end());
      }
    }
  };
  for (const dsl::Definition* def : reg.registry.All()) {
    collect(*def, def->start.actions);
    collect(*def, def->on_withdrawal);
    for (const dsl::State& s : def->states) {
      collect(*def, s.on_enter);
      for (const dsl::Transition& t : s.transitions)
        collect(*def, t.actions);
    }
    collect(*def, def->on_certificate);
    for (const dsl::Deadline& d : def->deadlines) {
      collect(*def, d.on_expiry);
      collect(*def, d.on_extension);
    }
  }
  size_t checked = 0;
  std::set<std::string> stat_cases;
  for (const auto& f : fs::directory_iterator(data_ + "/out")) {
    std::ifstream in(f.path());
    std::string line;
    while (std::getline(in, line)) {
      Result<Value> ev = Value::ParseJson(line);
      ASSERT_TRUE(ev.ok());
      const Value& data = (*ev)["data"];
      std::string org = data["organisation"].as_string();
      EXPECT_EQ(f.path().filename().string(), (*dir)->Find(org)->topic + ".jsonl");
      const std::set<std::string>& ok =
          allowed[{data["workflow"].as_string(), data["role"].as_string()}];
      for (const Member& m : data["fields"].members()) {
        EXPECT_TRUE(ok.count(m.first)) << org << " received " << m.first << " in " << line;
      }
      EXPECT_FALSE(data["basis"].as_string().empty()) << line;
      // The disclosure of event seq to the organisation: an identity of its own, apart from the
      // audit stream's "<case>/<seq>" (docs/events.md, "Identity").
      EXPECT_EQ((*ev)["id"].as_string(), (*ev)["subject"].as_string() + "/" +
                                             std::to_string(data["seq"].as_int()) + "/" + org)
          << line;
      if (org == "statistikamt-nord") stat_cases.insert((*ev)["subject"].as_string());
      ++checked;
    }
  }
  EXPECT_GT(checked, 50u);
  // The statistics office hears of the accepted notifications, never of the rejected one.
  EXPECT_EQ(stat_cases, (std::set<std::string>{"GA-2026-0001", "GA-2026-0002", "GA-2026-0005",
                                               "GA-2026-0006", "GA-2026-0007"}));
  // Personal data of the owner never reaches the statistics office.
  std::ifstream stat(data_ + "/out/amtsweg.org.statistikamt-nord.jsonl");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.find("Jensen"), std::string::npos);
  EXPECT_EQ(all.find("geburtsdatum"), std::string::npos);
}

TEST_F(CliTest, ReplayOfEveryCaseEqualsTheLiveStateAndVerifies) {
  for (const auto& [id, summary] : Cases()) {
    Output replay = Amtsweg("replay --verify " + id + D());
    ASSERT_EQ(replay.code, 0) << id << ": " << replay.err;
    EXPECT_NE(replay.err.find("snapshot matches the log"), std::string::npos) << replay.err;
    Result<Value> replayed = Value::ParseJson(replay.out);
    ASSERT_TRUE(replayed.ok());
    EXPECT_EQ(*replayed, Show(id)) << id;
  }
}

TEST_F(CliTest, ReplayAsOfAMomentShowsTheStateThen) {
  Output before = Amtsweg("replay HR-2026-0002 --as-of 2026-10-12T21:59:59Z" + D());
  ASSERT_EQ(before.code, 0) << before.err;
  Result<Value> b = Value::ParseJson(before.out);
  EXPECT_EQ((*b)["state"].as_string(), "pruefung");
  EXPECT_TRUE((*b)["outcome"].is_null());
  Output after = Amtsweg("replay HR-2026-0002 --as-of 2026-10-12T22:00:00Z" + D());
  Result<Value> a = Value::ParseJson(after.out);
  EXPECT_EQ((*a)["outcome"].as_string(), "deemed_approved");
  Output upto = Amtsweg("replay HR-2026-0002 --upto 1" + D());
  Result<Value> u = Value::ParseJson(upto.out);
  EXPECT_EQ((*u)["seq"].as_int(), 1);
  EXPECT_EQ((*u)["state"].as_string(), "");
}

TEST_F(CliTest, AuditVerifyPassesAndDetectsTampering) {
  Output ok = Amtsweg("audit verify" + D());
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("17 cases"), std::string::npos) << ok.out;

  std::string copy = dir_->path() + "/tampered";
  fs::copy(data_, copy, fs::copy_options::recursive);
  {
    auto st = store::Store::Open(copy);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    std::string payload;
    ASSERT_TRUE((*st)
                    ->ScanEvents("BA-2026-0002", 5, 5,
                                 [&](const store::EventRecord& r) {
                                   payload = r.payload;
                                   return false;
                                 })
                    .ok());
    ASSERT_FALSE(payload.empty());
    payload.back() ^= 1;  // one bit of a stored event flipped
    ASSERT_TRUE((*st)->OverwriteEventPayloadForTest("BA-2026-0002", 5, payload).ok());
  }
  Output bad = Amtsweg("audit verify --data-dir " + copy);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("BA-2026-0002"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("event 5"), std::string::npos) << bad.err;
  Output replay = Amtsweg("replay --verify BA-2026-0002 --data-dir " + copy);
  EXPECT_EQ(replay.code, 1) << replay.err;
}

TEST_F(CliTest, RebuildRecreatesSnapshotsAndIndexesFromTheLog) {
  std::string copy = dir_->path() + "/rebuilt";
  fs::copy(data_, copy, fs::copy_options::recursive);
  fs::copy(data_ + ".keys", copy + ".keys", fs::copy_options::recursive);  // the cases' keys
  Output rebuilt = Amtsweg("rebuild --data-dir " + copy);
  ASSERT_EQ(rebuilt.code, 0) << rebuilt.err;
  EXPECT_NE(rebuilt.out.find("rebuilt snapshots and indexes of 17 cases"), std::string::npos)
      << rebuilt.out;
  for (const char* filter : {"", " --participant hwk-luebeck", " --state mitgeteilt",
                             " --workflow bauantrag", " --outcome open"}) {
    Output a = Amtsweg(std::string("case list --json") + filter + D());
    Output b = Amtsweg(std::string("case list --json") + filter + " --data-dir " + copy);
    EXPECT_EQ(a.out, b.out) << filter;
    EXPECT_FALSE(b.out.empty()) << filter;
  }
  Output show = Amtsweg("case show --json HR-2026-0002 --data-dir " + copy);
  EXPECT_EQ(Value::ParseJson(show.out).value(), Show("HR-2026-0002"));
}

TEST_F(CliTest, DeadLettersKeepEveryRefusedInputWithItsReason) {
  Output o = Amtsweg("dead-letters --json" + D());
  ASSERT_EQ(o.code, 0) << o.err;
  std::vector<Value> dead = JsonLines(o.out);
  std::multiset<std::string> kinds;
  for (const Value& d : dead) {
    const std::string& reason = d["reason"].as_string();
    const std::string& kind = d["kind"].as_string();
    kinds.insert(kind);
    EXPECT_EQ(reason.substr(0, kind.size() + 2), kind + ": ") << reason;
    EXPECT_NE(d["position"].as_string().find("line "), std::string::npos);
    EXPECT_FALSE(d["raw"].as_string().empty());
  }
  EXPECT_EQ(dead.size(), 25u);
  EXPECT_EQ(kinds.count("malformed"), 6u);
  EXPECT_EQ(kinds.count("invalid-application"), 4u);  // a numeric, short, Land-17 AGS; a LeiKa
  EXPECT_EQ(kinds.count("unknown-type"), 2u);         // one to no case, one to an open case
  EXPECT_EQ(kinds.count("invalid-answer"), 2u);
  for (const char* kind : {"unknown-case", "closed-case", "not-a-participant", "wrong-role",
                           "no-workflow", "unroutable", "duplicate", "invalid-extension",
                           "invalid-response", "unexpected-answer", "oversized"}) {
    EXPECT_EQ(kinds.count(kind), 1u) << kind;
  }
  Output table = Amtsweg("dead-letters" + D());
  EXPECT_NE(table.out.find("25 dead letter(s)"), std::string::npos);
  // Identifiers are refused where they are read, naming the field and the form; none of these
  // applications opened a case routed by a prefix of its key.
  std::string all;
  for (const Value& d : dead)
    all += d["reason"].as_string() + "\n";
  for (const char* reason :
       {"invalid-application: role 'gewerbeamt': application.betrieb.ags is the number 1002000; "
        "an AGS is a string of 8 digits",
        "invalid-application: role 'gewerbeamt': application.betrieb.ags '0100200' is not an AGS "
        "(8 digits) or an ARS (12 digits)",
        "invalid-application: role 'gewerbeamt': application.betrieb.ags '17002000': Land code "
        "'17' does not exist (01 to 16)",
        "invalid-application: data.leika '9905001210400' is not a LeiKa key (14 digits starting "
        "with 99, ^99\\d{12}$)"}) {
    EXPECT_NE(all.find(reason), std::string::npos) << reason << "\n" << all;
  }
  std::map<std::string, Value> cases = Cases();
  for (const char* id : {"GA-2027-0005", "GA-2027-0006", "GA-2027-0007", "GA-2027-0008"})
    EXPECT_EQ(cases.count(id), 0u) << id;
  // --kind keeps one kind.
  Output malformed = Amtsweg("dead-letters --json --kind malformed" + D());
  ASSERT_EQ(malformed.code, 0) << malformed.err;
  std::vector<Value> only = JsonLines(malformed.out);
  EXPECT_EQ(only.size(), 6u);
  for (const Value& d : only)
    EXPECT_EQ(d["kind"].as_string(), "malformed");
  // A kind that does not exist is a usage error, not an empty list (issue 12).
  Output none = Amtsweg("dead-letters --kind no-such-kind" + D());
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_NE(none.err.find("no-such-kind"), std::string::npos) << none.err;
}

// inputs = accepted + refused + duplicates in every run, fired timers counted apart; over all
// samples at once (the suite's run) and over each sample file alone.
TEST_F(CliTest, RunSummaryCountsAddUpOverTheShippedSamples) {
  Summary all = ParseSummary(run_.out);
  ASSERT_TRUE(all.found) << run_.out;
  uint64_t lines = 0;
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(kRepo + "/workflows/samples")) {
    if (f.path().extension() == ".jsonl") files.push_back(f.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 5u);
  for (const std::string& f : files)
    lines += InputLines(f);
  EXPECT_EQ(all.inputs, lines);
  EXPECT_EQ(all.inputs, all.accepted + all.refused + all.duplicates) << run_.out;
  EXPECT_EQ(all.timers, all.expired + all.stale + all.timers_refused) << run_.out;
  EXPECT_GT(all.expired, 0u) << run_.out;
  EXPECT_EQ(all.clock, "2028-12-31T00:00:00Z");
  Output dead = Amtsweg("dead-letters --json" + D());
  EXPECT_EQ(JsonLines(dead.out).size(), all.refused + all.duplicates);

  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    std::string data = dir_->path() + "/alone-" + fs::path(f).stem().string();
    Output o = Amtsweg("run " + Common() + " --data-dir " + data + " --source file:" + f +
                       " --until-idle --advance-to 2028-12-31T00:00:00Z");
    ASSERT_EQ(o.code, 0) << o.err;
    Summary s = ParseSummary(o.out);
    ASSERT_TRUE(s.found) << o.out;
    EXPECT_EQ(s.inputs, InputLines(f)) << o.out;
    EXPECT_EQ(s.inputs, s.accepted + s.refused + s.duplicates) << o.out;
    EXPECT_EQ(s.timers, s.expired + s.stale + s.timers_refused) << o.out;
    Output d = Amtsweg("dead-letters --json --data-dir " + data);
    EXPECT_EQ(JsonLines(d.out).size(), s.refused + s.duplicates);
  }
}

// A run killed after its second commit: the next run continues with the clock committed then
// (its first input, a refused one, is stamped with it), a clock event from before it changes
// nothing and is counted, and the summary shows the clock.
TEST_F(CliTest, RestartedRunContinuesWithTheStoredClock) {
  std::string data = dir_->path() + "/clock-restart";
  std::string input = dir_->path() + "/clock-restart.jsonl";
  std::ofstream(input) << ClockEvent("c1", "2027-01-01T00:00:00Z") << "\n"
                       << ClockEvent("c2", "2027-02-01T00:00:00Z") << "\n"
                       << "not json\n"
                       << ClockEvent("c3", "2026-06-01T00:00:00Z") << "\n";
  std::string run = "run " + Common() + " --data-dir " + data + " --source file:" + input +
                    " --until-idle --batch 1";
  Output killed = Amtsweg(run + " --crash-at after_write --crash-after 2");
  ASSERT_EQ(killed.code, 99) << killed.err;
  Output resumed = Amtsweg(run);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  Summary s = ParseSummary(resumed.out);
  ASSERT_TRUE(s.found) << resumed.out;
  EXPECT_EQ(s.inputs, 2u) << resumed.out;
  EXPECT_EQ(s.accepted, 1u) << resumed.out;  // the clock event from before the clock
  EXPECT_EQ(s.refused, 1u) << resumed.out;
  EXPECT_EQ(s.clock, "2027-02-01T00:00:00Z") << resumed.out;
  Output dead = Amtsweg("dead-letters --json --data-dir " + data);
  std::vector<Value> letters = JsonLines(dead.out);
  ASSERT_EQ(letters.size(), 1u) << dead.out;
  EXPECT_EQ(letters[0]["kind"].as_string(), "malformed");
  EXPECT_EQ(letters[0]["at"].as_string(), "2027-02-01T00:00:00Z");  // not 1970-01-01
  EXPECT_EQ(letters[0]["position"].as_string(), "line 3");
  // Moving the clock to where it is already is no step back.
  Output idle = Amtsweg("run " + Common() + " --data-dir " + data +
                        " --until-idle --advance-to 2027-02-01T00:00:00Z");
  ASSERT_EQ(idle.code, 0) << idle.err;
  EXPECT_EQ(ParseSummary(idle.out).clock, "2027-02-01T00:00:00Z") << idle.out;
}

TEST_F(CliTest, AdvanceToBeforeTheClockIsRefusedAndNothingIsProcessed) {
  std::string data = dir_->path() + "/clock-refused";
  std::string first = dir_->path() + "/clock-first.jsonl";
  std::string second = dir_->path() + "/clock-second.jsonl";
  std::ofstream(first) << ClockEvent("f1", "2027-05-01T00:00:00Z") << "\n";
  std::ofstream(second) << ClockEvent("s1", "2027-06-01T00:00:00Z") << "\n";
  std::string run = "run " + Common() + " --data-dir " + data + " --until-idle";
  Output one = Amtsweg(run + " --source file:" + first + " --advance-to 2027-05-15T00:00:00Z");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(ParseSummary(one.out).clock, "2027-05-15T00:00:00Z") << one.out;

  Output refused = Amtsweg(run + " --source file:" + second + " --advance-to 2027-05-14T00:00:00Z");
  EXPECT_EQ(refused.code, 2);
  EXPECT_EQ(refused.out, "");
  for (const char* part : {"--advance-to", "2027-05-14T00:00:00Z", "2027-05-15T00:00:00Z",
                           "never moves backwards", "Nothing was processed"}) {
    EXPECT_NE(refused.err.find(part), std::string::npos) << part << " in: " << refused.err;
  }
  // The refused run read nothing: the next one reads the second file's input.
  Output two = Amtsweg(run + " --source file:" + second);
  ASSERT_EQ(two.code, 0) << two.err;
  Summary s = ParseSummary(two.out);
  EXPECT_EQ(s.inputs, 1u) << two.out;
  EXPECT_EQ(s.clock, "2027-06-01T00:00:00Z") << two.out;
  // --advance-to the clock itself is no step back.
  Output same = Amtsweg(run + " --advance-to 2027-06-01T00:00:00Z");
  EXPECT_EQ(same.code, 0) << same.err;
}

TEST_F(CliTest, RunningAgainProcessesNothingTwice) {
  Output again = Amtsweg("run " + Common() + D() + SampleSources() + " --until-idle");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("processed 0 inputs"), std::string::npos) << again.out;
  // The same file under another name is the same source.
  std::string sources = SampleSources();
  for (size_t at; (at = sources.find("/workflows/samples/")) != std::string::npos;) {
    sources.replace(at, 19, "/workflows/./samples/");
  }
  Output renamed = Amtsweg("run " + Common() + D() + sources + " --until-idle");
  ASSERT_EQ(renamed.code, 0) << renamed.err;
  EXPECT_NE(renamed.out.find("processed 0 inputs"), std::string::npos) << renamed.out;
}

TEST_F(CliTest, CrashedRunsResumeToTheSameResult) {
  for (const char* point : {"after_events_staged", "before_write", "after_write"}) {
    std::string data = dir_->path() + "/crash-" + point;
    Output crashed = Amtsweg("run -q " + Common() + " --data-dir " + data + SampleSources() +
                             " --until-idle --batch 5 --crash-at " + point + " --crash-after 3");
    EXPECT_EQ(crashed.code, 99) << point << ": " << crashed.err;
    Output resumed = Amtsweg("run -q " + Common() + " --data-dir " + data + SampleSources() +
                             " --until-idle --batch 5 --advance-to 2028-12-31T00:00:00Z");
    ASSERT_EQ(resumed.code, 0) << resumed.err;
    // The same events; their stored bytes (and so the chain hashes) differ, since each store
    // seals with keys of its own.
    std::regex hash(R"(,"hash":"[0-9a-f]{64}")");
    for (const auto& [id, summary] : Cases()) {
      Output a = Amtsweg("case history " + id + D());
      Output b = Amtsweg("case history " + id + " --data-dir " + data);
      EXPECT_EQ(std::regex_replace(a.out, hash, ""), std::regex_replace(b.out, hash, ""))
          << point << " " << id;
    }
    EXPECT_EQ(Amtsweg("audit verify --data-dir " + data).code, 0) << point;
  }
}

TEST_F(CliTest, ValidateAcceptsTheShippedWorkflowsAndPointsAtErrors) {
  Output ok =
      Amtsweg("validate --directory " + kRepo + "/workflows/directory/schleswig-holstein.yaml " +
              kRepo + "/workflows/*.yaml");
  EXPECT_EQ(ok.code, 0) << ok.err;
  std::string broken = dir_->path() + "/broken.yaml";
  std::ofstream(broken) << "name: Broken Name\nversion: 1\nleika: \"99\"\nstart: {to: nowhere}\n"
                           "states:\n  a: {terminal: approved}\n  b: {terminal: maybe}\n";
  Output bad = Amtsweg("validate " + broken);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find(broken + ":1:"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(broken + ":4:"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(broken + ":7:"), std::string::npos) << bad.err;
}

TEST_F(CliTest, BadArgumentsGetClearErrors) {
  Output none = Amtsweg("");
  EXPECT_EQ(none.code, 2);
  Output missing = Amtsweg("run --data-dir " + data_);
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--workflows"), std::string::npos) << missing.err;
  Output unknown = Amtsweg("frobnicate");
  EXPECT_EQ(unknown.code, 2);
  Output no_case = Amtsweg("case show NOPE" + D());
  EXPECT_EQ(no_case.code, 1);
  EXPECT_NE(no_case.err.find("no case 'NOPE'"), std::string::npos) << no_case.err;
  Output no_store = Amtsweg("case list --data-dir " + dir_->path() + "/nothing-here");
  EXPECT_NE(no_store.code, 0);
  EXPECT_NE(no_store.err.find("no amtsweg store"), std::string::npos) << no_store.err;
  Output bad_source = Amtsweg("run " + Common() + D() + " --source kafka:x --until-idle");
  EXPECT_EQ(bad_source.code, 2);
  Output bad_time = Amtsweg("replay GA-2026-0001 --as-of yesterday" + D());
  EXPECT_EQ(bad_time.code, 2);
  Output both = Amtsweg("replay GA-2026-0001 --upto 2 --as-of 2026-01-01T00:00:00Z" + D());
  EXPECT_EQ(both.code, 2);
}

}  // namespace
}  // namespace amtsweg

namespace amtsweg {
namespace {

TEST(CliSpeakerTest, ASourceOfTheShippedDirectorySpeaksOnlyForItsOrganisation) {
  testing::TempDir dir("amtsweg-cli-speaker");
  const std::string input = dir.path() + "/forged.jsonl";
  // IHK Kiel's source (mapped in the shipped directory) claims the Landesamt's extension.
  std::ofstream(input) << R"({"specversion":"1.0","id":"f1","source":"urn:amtsweg:org:ihk-kiel",)"
                       << R"("type":"de.amtsweg.deadline.extended","subject":"BI-2026-0001",)"
                       << R"("time":"2026-09-01T09:00:00Z","participant":"lfu-sh",)"
                       << R"("data":{"deadline":"entscheidungsfrist","reason":"x"}})"
                       << "\n";
  const std::string data = " --data-dir " + dir.path() + "/data";
  Output run = Amtsweg("run --workflows " + kRepo + "/workflows --directory " + kRepo +
                       "/workflows/directory/schleswig-holstein.yaml" + data +
                       " --source file:" + input + " --until-idle");
  ASSERT_EQ(run.code, 0) << run.err;
  Output dead = Amtsweg("dead-letters --json --kind impersonation" + data);
  ASSERT_EQ(dead.code, 0) << dead.err;
  std::vector<Value> lines = JsonLines(dead.out);
  ASSERT_EQ(lines.size(), 1u) << dead.out;
  EXPECT_EQ(lines[0]["reason"].as_string(),
            "impersonation: participant 'lfu-sh' claimed, but source 'urn:amtsweg:org:ihk-kiel' "
            "speaks for 'ihk-kiel'");
}

TEST(CliSpeakerTest, ValidateRefusesAnAliasBombWithItsPosition) {
  testing::TempDir dir("amtsweg-cli-bomb");
  const std::string bomb = dir.path() + "/bomb.yaml";
  {
    std::ofstream out(bomb);
    out << "name: bomb\nversion: 1\nleika: \"99050012104000\"\nx:\n";
    out << "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int level = 1; level <= 9; ++level) {
      out << "  a" << level << ": &a" << level << " [";
      for (int i = 0; i < 10; ++i)
        out << (i == 0 ? "" : ", ") << "*a" << level - 1;
      out << "]\n";
    }
  }
  Output bad = Amtsweg("validate " + bomb);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find(bomb + ":9:"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("expands to more than 100000 nodes"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace amtsweg
