#include "engine/dsl/directory.h"

#include <gtest/gtest.h>

namespace amtsweg::dsl {
namespace {

constexpr char kDirectory[] = R"(organisations:
  - id: gewerbeamt-kiel
    kind: municipal
    name: Landeshauptstadt Kiel, Gewerbeamt
    functions: [gewerbeamt]
    area: ["01002"]
    topic: amtsweg.org.gewerbeamt-kiel
  - id: kreis-pinneberg
    kind: municipal
    name: Kreis Pinneberg
    functions: [bauaufsicht]
    area: ["01056"]
  - id: stadt-elmshorn
    kind: municipal
    name: Stadt Elmshorn
    functions: [bauaufsicht, gemeinde]
    area: ["01056015"]
    webhook: https://elmshorn.example/hook
    webhook_secret_env: ELMSHORN_WEBHOOK_SECRET
  - id: b-dguv
    kind: federal
    name: DGUV
    functions: [dguv]
    seat: "11000000"
  - id: a-dguv
    kind: federal
    name: DGUV (tie)
    functions: [dguv]
    area: []
    seat: "11000000"
  - id: land
    kind: state
    name: Land
    functions: [bauaufsicht]
    area: ["01"]
)";

TEST(DirectoryTest, LoadsAndFinds) {
  auto dir = Directory::Parse(kDirectory, "dir.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  const Directory& d = **dir;
  EXPECT_EQ(d.organisations().size(), 6u);
  const Organisation* kiel = d.Find("gewerbeamt-kiel");
  ASSERT_NE(kiel, nullptr);
  EXPECT_EQ(kiel->kind, "municipal");
  EXPECT_EQ(kiel->name, "Landeshauptstadt Kiel, Gewerbeamt");
  EXPECT_EQ(kiel->area, std::vector<std::string>{"01002"});
  EXPECT_EQ(kiel->topic, "amtsweg.org.gewerbeamt-kiel");
  EXPECT_EQ(d.Find("kreis-pinneberg")->topic, "amtsweg.org.kreis-pinneberg");  // default
  EXPECT_EQ(d.Find("stadt-elmshorn")->webhook, "https://elmshorn.example/hook");
  EXPECT_EQ(d.Find("stadt-elmshorn")->webhook_secret_env, "ELMSHORN_WEBHOOK_SECRET");
  EXPECT_EQ(d.Find("stadt-elmshorn")->webhook_secret_file, "");
  EXPECT_EQ(d.Find("nobody"), nullptr);
  EXPECT_TRUE(d.HasFunction("gemeinde"));
  EXPECT_FALSE(d.HasFunction("zoll"));
}

TEST(DirectoryTest, ResponsibleTakesLongestPrefix) {
  auto dir = Directory::Parse(kDirectory, "dir.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  const Directory& d = **dir;
  auto id = [&](std::string_view f, std::string_view ags) -> std::string {
    const Organisation* o = d.Responsible(f, ags);
    return o ? o->id : "-";
  };
  EXPECT_EQ(id("bauaufsicht", "01056015"), "stadt-elmshorn");   // delegated town
  EXPECT_EQ(id("bauaufsicht", "01056039"), "kreis-pinneberg");  // rest of the Kreis
  EXPECT_EQ(id("bauaufsicht", "01002000"), "land");             // only the Land covers it
  EXPECT_EQ(id("bauaufsicht", "02000000"), "-");                // outside every area
  EXPECT_EQ(id("gewerbeamt", "01002000"), "gewerbeamt-kiel");
  EXPECT_EQ(id("gewerbeamt", "01003000"), "-");
  EXPECT_EQ(id("dguv", "09162000"), "a-dguv");  // empty area covers all; tie -> smaller id
  EXPECT_EQ(id("zoll", "01002000"), "-");       // nobody performs it
  EXPECT_EQ(id("gemeinde", "0105601"), "-");    // a shorter key is not covered by a longer prefix
}

TEST(DirectoryTest, ReportsEveryErrorWithPosition) {
  constexpr char kBad[] = R"(organisations:
  - id: Bad_Id
    kind: county
    name: X
    functions: [gewerbeamt]
    area: ["0100200011", "01x", 01002]
    colour: blue
  - id: ok
    kind: state
    functions: []
    webhook: http://insecure
  - id: ok
    kind: state
    name: Twin
    functions: [Bad-Function]
)";
  auto dir = Directory::Parse(kBad, "sh.yaml");
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(dir.status().IsInvalidArgument());
  EXPECT_EQ(dir.status().message(),
            "sh.yaml:7:5: unknown key 'colour' in organisation; allowed: id, kind, name, "
            "functions, area, seat, holidays, sources, topic, webhook, webhook_secret_env, "
            "webhook_secret_file\n"
            "sh.yaml:2:9: organisation id 'Bad_Id' must match [a-z0-9-]+\n"
            "sh.yaml:3:11: unknown organisation kind 'county'; expected state, municipal, "
            "chamber, federal or portal\n"
            "sh.yaml:6:12: area '0100200011' must be an AGS prefix of 1 to 8 digits (from two "
            "digits on starting with a Land code 01 to 16)\n"
            "sh.yaml:6:26: area '01x' must be an AGS prefix of 1 to 8 digits (from two digits "
            "on starting with a Land code 01 to 16)\n"
            "sh.yaml:6:33: area '01002' must be quoted (\"01002\")\n"
            "sh.yaml:8:5: organisation is missing 'name'\n"
            "sh.yaml:10:16: 'functions' must not be empty\n"
            "sh.yaml:11:14: webhook must be an https:// URL (http:// only to 127.0.0.1, "
            "localhost, [::1])\n"
            "sh.yaml:11:14: webhook needs webhook_secret_env or webhook_secret_file (the signing "
            "secret's environment variable or file)\n"
            "sh.yaml:15:17: function 'Bad-Function' must match [a-z0-9_]+\n"
            "sh.yaml:12:9: duplicate organisation id 'ok' (first at line 8)");
}

TEST(DirectoryTest, WebhookSecretReferences) {
  constexpr char kHooks[] = R"(organisations:
  - id: local
    kind: state
    name: Local relay
    functions: [a]
    webhook: http://127.0.0.1:8080/hook
    webhook_secret_file: secrets/local
    seat: "01002000"
  - id: both
    kind: state
    name: Both
    functions: [a]
    webhook: https://both.example/hook
    webhook_secret_env: BOTH
    webhook_secret_file: /run/secrets/both
  - id: lower
    kind: state
    name: Lower
    functions: [a]
    webhook: https://lower.example/hook
    webhook_secret_env: lower
  - id: secret-only
    kind: state
    name: Secret only
    functions: [a]
    webhook_secret_env: ORPHAN
  - id: remote-http
    kind: state
    name: Remote over http
    functions: [a]
    webhook: http://127.0.0.1.example/hook
    webhook_secret_env: REMOTE
)";
  auto dir = Directory::Parse(kHooks, "hooks.yaml");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(),
            "hooks.yaml:15:26: give either webhook_secret_env or webhook_secret_file, not both\n"
            "hooks.yaml:21:25: webhook_secret_env 'lower' must be an environment variable name "
            "[A-Z_][A-Z0-9_]*\n"
            "hooks.yaml:26:25: a webhook secret without a webhook\n"
            "hooks.yaml:31:14: webhook must be an https:// URL (http:// only to 127.0.0.1, "
            "localhost, [::1])");
  auto ok = Directory::Parse(
      std::string_view(kHooks).substr(0, std::string_view(kHooks).find("  - id: both")),
      "hooks.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->Find("local")->webhook_secret_file, "secrets/local");
}

TEST(DirectoryTest, EveryAuthorityHasThePublicHolidaysOfItsSeat) {
  auto dir = Directory::Parse(R"(organisations:
  - {id: kiel, kind: municipal, name: Kiel, functions: [a], area: ["01002"]}
  - {id: nord, kind: state, name: Nord, functions: [a], area: ["01", "02"], seat: "02000000"}
  - {id: bonn, kind: federal, name: Bonn, functions: [a], seat: "05314000"}
  - id: wuerzburg
    kind: municipal
    name: Würzburg
    functions: [a]
    area: ["09663"]
    holidays: [mariae_himmelfahrt]
  - {id: portal, kind: portal, name: Portal, functions: [portal], sources: ["urn:p"]}
)",
                              "dir.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  auto id = [&](std::string_view org) { return (*dir)->Find(org)->holidays->Id(); };
  EXPECT_EQ(id("kiel"), "DE-SH");  // the Land of its area
  EXPECT_EQ(id("nord"), "DE-HH");  // its seat, where the area spans two Länder
  EXPECT_EQ(id("bonn"), "DE-NW");
  EXPECT_EQ(id("wuerzburg"), "DE-BY+mariae_himmelfahrt");
  EXPECT_FALSE((*dir)->Find("portal")->holidays.has_value());  // a portal runs no periods
  EXPECT_EQ((*dir)->PortalForSource("urn:p")->id, "portal");
  EXPECT_EQ((*dir)->PortalForSource("urn:other"), nullptr);

  auto bad = Directory::Parse(R"(organisations:
  - {id: span, kind: state, name: Span, functions: [a], area: ["01", "02"]}
  - {id: nowhere, kind: federal, name: Nowhere, functions: [a]}
  - {id: seat, kind: federal, name: Seat, functions: [a], seat: "1234"}
  - {id: sh-local, kind: state, name: SH, functions: [a], area: ["01"], holidays: [fronleichnam]}
  - {id: typo, kind: state, name: Typo, functions: [a], area: ["09"], holidays: [mariae]}
  - {id: p, kind: portal, name: P, functions: [portal]}
  - {id: q, kind: state, name: Q, functions: [a], area: ["01"], sources: ["urn:q"]}
)",
                              "bad.yaml");
  ASSERT_FALSE(bad.ok());
  const std::string& m = bad.status().message();
  EXPECT_NE(m.find("bad.yaml:2:5: organisation 'span': no 'seat', and its area does not lie in "
                   "one Land"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("bad.yaml:3:5: organisation 'nowhere': no 'seat'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.yaml:4:65: seat '1234' must be the AGS"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.yaml:5:83: fronleichnam is a local holiday only in SN, TH, not in "
                   "Schleswig-Holstein (SH)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("bad.yaml:6:82: unknown local holiday \"mariae\""), std::string::npos) << m;
  EXPECT_NE(m.find("bad.yaml:7:5: portal 'p' needs 'sources'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.yaml:8:65: 'sources' (the CloudEvents sources an online service submits "
                   "applications from) belong to organisations of kind portal"),
            std::string::npos)
      << m;
}

TEST(DirectoryTest, SyntaxError) {
  auto dir = Directory::Parse("organisations: [\n  - id: x\n", "broken.yaml");
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(dir.status().message().starts_with("broken.yaml:")) << dir.status().message();
  EXPECT_NE(dir.status().message().find("YAML syntax error"), std::string::npos);
}

TEST(DirectoryTest, MissingFile) {
  auto dir = Directory::Load("/nonexistent/dir.yaml");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace amtsweg::dsl

namespace amtsweg::dsl {
namespace {

constexpr char kSpeakers[] = R"(participants_must_be_bound: true
sources:
  "urn:ihk-kiel:kammersystem": ihk-kiel
  "urn:portal:also": portal
submitters:
  gewerbeanmeldung: [portal]
organisations:
  - {id: ihk-kiel, kind: chamber, name: IHK Kiel, functions: [ihk], area: ["01002"]}
  - {id: portal, kind: portal, name: Portal, functions: [portal], sources: ["urn:p"]}
  - {id: portal-2, kind: portal, name: Portal 2, functions: [portal], sources: ["urn:p2"]}
)";

TEST(DirectorySpeakersTest, SourcesMapToOrganisationsAndSubmittersArePortals) {
  auto dir = Directory::Parse(kSpeakers, "sh.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  const Directory& d = **dir;
  EXPECT_TRUE(d.participants_must_be_bound());
  EXPECT_EQ(d.OrganisationForSource("urn:ihk-kiel:kammersystem")->id, "ihk-kiel");
  EXPECT_EQ(d.OrganisationForSource("urn:p")->id, "portal");  // a portal's sources speak for it
  EXPECT_EQ(d.OrganisationForSource("urn:portal:also")->id, "portal");
  EXPECT_EQ(d.OrganisationForSource("urn:unknown"), nullptr);
  // The mapping makes no reply channel to an applicant: only a portal's own `sources` are.
  EXPECT_EQ(d.PortalForSource("urn:ihk-kiel:kammersystem"), nullptr);
  EXPECT_EQ(d.PortalForSource("urn:portal:also"), nullptr);
  ASSERT_NE(d.SubmittersOf("gewerbeanmeldung"), nullptr);
  EXPECT_EQ(*d.SubmittersOf("gewerbeanmeldung"), std::vector<std::string>{"portal"});
  EXPECT_EQ(d.SubmittersOf("bauantrag"), nullptr);

  // Without the keys: nothing is mapped beyond the portals, claims need not be bound.
  auto plain = Directory::Parse(
      "organisations:\n  - {id: p, kind: portal, name: P, functions: [portal], sources: "
      "[\"urn:p\"]}\n",
      "plain.yaml");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE((*plain)->participants_must_be_bound());
  EXPECT_EQ((*plain)->SubmittersOf("gewerbeanmeldung"), nullptr);
}

TEST(DirectorySpeakersTest, ReportsBadMappingsAndSubmitters) {
  auto flag = Directory::Parse("participants_must_be_bound: yes\norganisations: []\n", "f.yaml");
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.status().message(),
            "f.yaml:1:29: participants_must_be_bound must be true or false");

  auto bad = Directory::Parse(R"(participants_must_be_bound: false
sources:
  "urn:p": ihk-kiel
  "urn:nobody": nobody
submitters:
  gewerbeanmeldung: [ihk-kiel, portal]
  Bad_Name: [portal]
  bauantrag: []
organisations:
  - {id: ihk-kiel, kind: chamber, name: IHK Kiel, functions: [ihk], area: ["01002"]}
  - {id: portal, kind: portal, name: Portal, functions: [portal], sources: ["urn:p"]}
)",
                              "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "bad.yaml:3:12: source 'urn:p' is mapped to 'ihk-kiel', but it is a source of portal "
            "'portal'\n"
            "bad.yaml:4:17: source 'urn:nobody': no organisation 'nobody' in the directory\n"
            "bad.yaml:6:22: submitters of workflow gewerbeanmeldung: 'ihk-kiel' is no portal of "
            "the directory\n"
            "bad.yaml:7:3: submitters: 'Bad_Name' must be a workflow name ([a-z0-9_-]+)\n"
            "bad.yaml:8:14: submitters of workflow bauantrag: name at least one portal (leave the "
            "workflow out to let any source submit)");
}

}  // namespace
}  // namespace amtsweg::dsl

namespace amtsweg::dsl {
namespace {

TEST(DirectoryMunicipalitiesTest, NamesMunicipalitiesByTheirKey) {
  auto dir = Directory::Parse(R"(municipalities:
  "01002000": Kiel
  "01056015": "Elmshorn"
organisations: []
)",
                              "m.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  ASSERT_NE((*dir)->MunicipalityName("01002000"), nullptr);
  EXPECT_EQ(*(*dir)->MunicipalityName("01002000"), "Kiel");
  EXPECT_EQ(*(*dir)->MunicipalityName("01056015"), "Elmshorn");
  EXPECT_EQ((*dir)->MunicipalityName("01003000"), nullptr);
  EXPECT_EQ((*dir)->MunicipalityName("01002"), nullptr);  // a prefix names no municipality
  EXPECT_EQ((*dir)->municipalities().size(), 2u);

  auto none = Directory::Parse("organisations: []\n", "none.yaml");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE((*none)->municipalities().empty());
}

TEST(DirectoryMunicipalitiesTest, ReportsBadKeysAndNames) {
  auto bad = Directory::Parse(R"(municipalities:
  01002000: Kiel
  "0100200": Kiel
  "17000000": Nirgendwo
  "01003000": ""
  "01004000": [Neumünster]
organisations: []
)",
                              "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "bad.yaml:2:3: municipalities: '01002000' must be quoted (\"01002000\")\n"
            "bad.yaml:3:3: municipalities: '0100200' must be an AGS (Amtlicher "
            "Gemeindeschlüssel: 8 digits, Land 01 to 16), quoted\n"
            "bad.yaml:4:3: municipalities: '17000000' must be an AGS (Amtlicher "
            "Gemeindeschlüssel: 8 digits, Land 01 to 16), quoted\n"
            "bad.yaml:5:15: municipalities: the name of '01003000' must not be empty\n"
            "bad.yaml:6:15: '01004000' must be a string");

  auto not_a_map = Directory::Parse("municipalities: [Kiel]\norganisations: []\n", "l.yaml");
  ASSERT_FALSE(not_a_map.ok());
  EXPECT_NE(not_a_map.status().message().find("l.yaml:1:17"), std::string::npos)
      << not_a_map.status().message();
}

TEST(DirectoryMunicipalitiesTest, TheShippedDirectoryNamesItsSampleMunicipalities) {
  auto dir = Directory::Load(std::string(AMTSWEG_SOURCE_DIR) +
                             "/workflows/directory/schleswig-holstein.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  ASSERT_NE((*dir)->MunicipalityName("01002000"), nullptr);
  EXPECT_EQ(*(*dir)->MunicipalityName("01002000"), "Kiel");
  ASSERT_NE((*dir)->MunicipalityName("01058043"), nullptr);
  EXPECT_EQ(*(*dir)->MunicipalityName("01058043"), "Eckernförde");
}

}  // namespace
}  // namespace amtsweg::dsl
