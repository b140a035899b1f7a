// bench_json: JSON parsing and writing of typical CloudEvents with the candidate libraries.
//
//   bench_json --events FILE [--runs 5]
//
// Parsing, each line into a tree the program can keep: simdjson DOM converted to our immutable
// Value (what the engine does, engine/common/value.cc); simdjson DOM alone (a reused parser,
// nothing kept: the ceiling of that path); nlohmann::json; RapidJSON Document. Writing, each
// tree back to compact JSON: Value::ToJson; nlohmann dump(); RapidJSON Writer. Median of --runs,
// single thread, MB/s of JSON text and events/s.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "engine/common/value.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

struct Timing {
  double events_per_s;
  double mb_per_s;
};

Timing Measure(int runs, size_t n, size_t bytes, const std::function<size_t()>& body) {
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    double t0 = Seconds();
    size_t check = body();
    t.push_back(Seconds() - t0);
    if (check == 0) Die("nothing processed");
  }
  double m = Median(t);
  return {static_cast<double>(n) / m, static_cast<double>(bytes) / m / 1e6};
}

void Print(const char* what, const char* lib, Timing t, double base) {
  std::printf("json: %-6s %-28s %10.0f events/s %8.1f MB/s  x%.2f\n", what, lib, t.events_per_s,
              t.mb_per_s, t.events_per_s / base);
}

int Main(int argc, char** argv) {
  std::string path = Flag(argc, argv, "--events", "");
  if (path.empty()) Die("usage: bench_json --events FILE [--runs N]");
  int runs = std::atoi(Flag(argc, argv, "--runs", "5").c_str());
  std::vector<std::string> all = ReadLines(path);
  // Only well-formed events: every library must accept every line.
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (std::string& l : all) {
    if (!nlohmann::json::accept(l)) continue;
    bytes += l.size();
    lines.push_back(std::move(l));
  }
  size_t n = lines.size();
  std::printf("json: %zu events, %.1f MB, %.0f bytes/event\n", n, static_cast<double>(bytes) / 1e6,
              static_cast<double>(bytes) / static_cast<double>(n));

  Timing value = Measure(runs, n, bytes, [&] {
    size_t k = 0;
    for (const std::string& l : lines) {
      Result<Value> v = Value::ParseJson(l);
      k += v.ok() ? v->size() : 0;
    }
    return k;
  });
  simdjson::dom::parser parser;
  Timing dom = Measure(runs, n, bytes, [&] {
    size_t k = 0;
    for (const std::string& l : lines) {
      simdjson::dom::element el;
      if (parser.parse(l).get(el) == simdjson::SUCCESS) ++k;
    }
    return k;
  });
  Timing nl = Measure(runs, n, bytes, [&] {
    size_t k = 0;
    for (const std::string& l : lines)
      k += nlohmann::json::parse(l).size();
    return k;
  });
  Timing rj = Measure(runs, n, bytes, [&] {
    size_t k = 0;
    for (const std::string& l : lines) {
      rapidjson::Document d;
      d.Parse(l.data(), l.size());
      k += d.HasParseError() ? 0 : d.MemberCount();
    }
    return k;
  });
  Print("parse", "simdjson DOM -> Value", value, value.events_per_s);
  Print("parse", "simdjson DOM only (ceiling)", dom, value.events_per_s);
  Print("parse", "nlohmann::json", nl, value.events_per_s);
  Print("parse", "RapidJSON Document", rj, value.events_per_s);

  std::vector<Value> values;
  std::vector<nlohmann::json> njs;
  std::vector<rapidjson::Document> rds(n);
  for (size_t i = 0; i < n; ++i) {
    values.push_back(*Value::ParseJson(lines[i]));
    njs.push_back(nlohmann::json::parse(lines[i]));
    rds[i].Parse(lines[i].data(), lines[i].size());
  }
  size_t out_bytes = 0;
  for (const Value& v : values)
    out_bytes += v.ToJson().size();
  Timing wv = Measure(runs, n, out_bytes, [&] {
    size_t k = 0;
    std::string out;
    for (const Value& v : values) {
      out.clear();
      v.AppendJson(&out);
      k += out.size();
    }
    return k;
  });
  Timing wn = Measure(runs, n, out_bytes, [&] {
    size_t k = 0;
    for (const nlohmann::json& j : njs)
      k += j.dump().size();
    return k;
  });
  Timing wr = Measure(runs, n, out_bytes, [&] {
    size_t k = 0;
    rapidjson::StringBuffer buf;
    for (const rapidjson::Document& d : rds) {
      buf.Clear();
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      d.Accept(w);
      k += buf.GetSize();
    }
    return k;
  });
  Print("write", "Value::AppendJson", wv, wv.events_per_s);
  Print("write", "nlohmann::json dump()", wn, wv.events_per_s);
  Print("write", "RapidJSON Writer", wr, wv.events_per_s);
  Report("json_parse_value_per_s", value.events_per_s, "events/s", dom.events_per_s);
  Report("json_parse_nlohmann_per_s", nl.events_per_s, "events/s");
  Report("json_parse_rapidjson_per_s", rj.events_per_s, "events/s");
  Report("json_write_value_per_s", wv.events_per_s, "events/s");
  Report("json_write_nlohmann_per_s", wn.events_per_s, "events/s");
  Report("json_write_rapidjson_per_s", wr.events_per_s, "events/s");
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  return amtsweg::bench::Main(argc, argv);
}
