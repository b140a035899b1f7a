// Sealing personal values (engine/runtime/personal.h): which values are sealed, that they come
// back with the key and read as erased without it, and that a seal is bound to its case and event.
#include "engine/runtime/personal.h"

#include <gtest/gtest.h>

#include <string>

namespace amtsweg::runtime {
namespace {

// A reversible stand-in for a data key: "sealed" = aad length, aad, plaintext reversed. Refuses
// another aad, as AES-GCM does.
class FakeSealer : public Sealer {
 public:
  void Seal(std::string_view aad, std::string_view plain, std::string* out) const override {
    PutLengthPrefixed(aad, out);
    out->append(plain.rbegin(), plain.rend());
  }
  Result<std::string> Open(std::string_view aad, std::string_view sealed) const override {
    std::string_view bound;
    if (!GetLengthPrefixed(&sealed, &bound) || bound != aad)
      return Status::Corruption("does not open");
    return std::string(sealed.rbegin(), sealed.rend());
  }
};

Value App() {
  return ObjectBuilder()
      .Add("leika", "99000000000001")
      .Add("inhaber", ObjectBuilder().Add("name", "Jensen").Add("born", "1980-01-15").Build())
      .Add("betrieb", ObjectBuilder().Add("ags", "01002000").Add("art", "Bäckerei").Build())
      .Build();
}

DomainEvent Opened() {
  return MakeEvent(1, 1000, "a1",
                   CaseOpened{.case_id = "C-1",
                              .workflow = "w",
                              .version = 1,
                              .leika = "99000000000001",
                              .source = "s",
                              .application = App(),
                              .variables = ObjectBuilder().Add("x", "y").Build()});
}

DomainEvent Stored(const DomainEvent& e, const PersonalPaths& paths, const Sealer* sealer,
                   std::string_view case_id = "C-1") {
  std::string bytes;
  EncodeStoredEvent(e, case_id, paths, sealer, &bytes);
  Result<DomainEvent> back = DecodeEvent(bytes);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return back.ok() ? *back : DomainEvent();
}

TEST(PersonalTest, ByDefaultEveryApplicationValueButTheMunicipalityKeyIsSealed) {
  FakeSealer key;
  DomainEvent e = Stored(Opened(), DefaultPersonalPaths(), &key);
  EXPECT_EQ(e.sealed_paths,
            (std::vector<std::string>{"/application/leika", "/application/inhaber/name",
                                      "/application/inhaber/born", "/application/betrieb/art",
                                      "/variables/x"}));
  const auto* d = e.As<CaseOpened>();
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE((*d->application.FindPath("inhaber.name")).is_null());
  EXPECT_EQ(d->application.FindPath("betrieb.ags")->as_string(), "01002000");
  EXPECT_EQ(d->case_id, "C-1");  // identity stays readable

  ASSERT_TRUE(UnsealEvent("C-1", &key, &e).ok());
  EXPECT_TRUE(e.sealed_paths.empty());
  EXPECT_EQ(e.As<CaseOpened>()->application, App());
  EXPECT_EQ(DataToValue(e.data), DataToValue(Opened().data));
}

TEST(PersonalTest, ANamedPathCoversWhatIsBelowIt) {
  FakeSealer key;
  PersonalPaths paths;
  paths.all_application = false;
  paths.application = {"inhaber"};
  DomainEvent e = Stored(Opened(), paths, &key);
  EXPECT_EQ(e.sealed_paths,
            (std::vector<std::string>{"/application/inhaber/name", "/application/inhaber/born",
                                      "/variables/x"}));
  EXPECT_EQ(e.As<CaseOpened>()->application.FindPath("betrieb.art")->as_string(), "Bäckerei");
}

TEST(PersonalTest, WithoutTheKeyTheValuesReadAsErased) {
  FakeSealer key;
  DomainEvent e = Stored(Opened(), DefaultPersonalPaths(), &key);
  ASSERT_TRUE(UnsealEvent("C-1", nullptr, &e).ok());
  EXPECT_TRUE(e.erased);
  Value view = EventToValue(e);
  EXPECT_EQ(view["erased"].size(), 5u);
  EXPECT_TRUE(view["data"]["application"]["inhaber"]["name"].is_null());
  EXPECT_EQ(view.Find("sealed"), nullptr);
}

TEST(PersonalTest, ASealOpensOnlyForItsCaseAndEvent) {
  FakeSealer key;
  std::string bytes;
  EncodeStoredEvent(Opened(), "C-1", DefaultPersonalPaths(), &key, &bytes);
  Result<DomainEvent> e = DecodeEvent(bytes);
  ASSERT_TRUE(e.ok());
  DomainEvent other = *e;
  EXPECT_TRUE(UnsealEvent("C-2", &key, &other).IsCorruption());
  other = *e;
  other.seq = 2;
  EXPECT_TRUE(UnsealEvent("C-1", &key, &other).IsCorruption());
}

TEST(PersonalTest, ResponsesKeepTheirTaskAndStringsAreSealedWhole) {
  FakeSealer key;
  DomainEvent r =
      MakeEvent(5, 2000, "r1",
                ResponseRecorded{
                    .task = "hearing",
                    .role = "kammer",
                    .organisation = "ihk-kiel",
                    .response = ObjectBuilder().Add("task", "hearing").Add("note", "n").Build()});
  DomainEvent e = Stored(r, DefaultPersonalPaths(), &key);
  EXPECT_EQ(e.sealed_paths, (std::vector<std::string>{"/response/note"}));
  DomainEvent x = MakeEvent(6, 2000, "x1",
                            DeadlineExtended{.deadline = "d",
                                             .previous_due = "a",
                                             .due = "b",
                                             .duration = "P1M",
                                             .reason = "Herr Jensen ist krank",
                                             .by = "amt",
                                             .legal = std::nullopt});
  DomainEvent sealed = Stored(x, DefaultPersonalPaths(), &key);
  EXPECT_EQ(sealed.As<DeadlineExtended>()->reason, "");
  ASSERT_TRUE(UnsealEvent("C-1", &key, &sealed).ok());
  EXPECT_EQ(sealed.As<DeadlineExtended>()->reason, "Herr Jensen ist krank");
  // Types without personal members are stored as before.
  DomainEvent closed = MakeEvent(7, 3000, "c", CaseClosed{.outcome = "approved", .state = "ok"});
  std::string plain, stored;
  EncodeEvent(closed, &plain);
  EncodeStoredEvent(closed, "C-1", DefaultPersonalPaths(), &key, &stored);
  EXPECT_EQ(plain, stored);
}

TEST(PersonalTest, SealedSnapshotsRoundTrip) {
  FakeSealer key;
  CaseState s;
  ASSERT_TRUE(Apply(&s, Opened()).ok());
  std::string bytes = EncodeSealedSnapshot(s, key);
  EXPECT_EQ(bytes.find("\"y\""), std::string::npos);
  bool unread = false;
  Result<CaseState> without = DecodeStoredSnapshot(bytes, "C-1", nullptr, &unread);
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(unread);
  EXPECT_TRUE(without->vars.is_null());
  Result<CaseState> with = DecodeStoredSnapshot(bytes, "C-1", &key);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->vars, s.vars);
  EXPECT_FALSE(DecodeStoredSnapshot(bytes, "C-2", &key).ok());
}

TEST(PersonalTest, JsonPointersEscapeSlashAndTilde) {
  EXPECT_EQ(JsonPointer({"a/b", "c~d"}), "/a~1b/c~0d");
  EXPECT_EQ(ParseJsonPointer("/a~1b/c~0d"), (std::vector<std::string>{"a/b", "c~d"}));
}

}  // namespace
}  // namespace amtsweg::runtime
