#include "engine/cli/output.h"

#include <algorithm>

namespace amtsweg::cli {

size_t DisplayWidth(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&width](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], DisplayWidth(row[i]));
    }
  };
  measure(header_);
  for (const auto& row : rows_)
    measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    out << line << "\n";
  };
  print(header_);
  for (const auto& row : rows_)
    print(row);
}

void PrintCase(const runtime::CaseState& s, std::ostream& out) {
  out << "case          " << s.id << "\n"
      << "workflow      " << s.workflow << " version " << s.version << " (LeiKa " << s.leika
      << ")\n"
      << "state         " << s.state << "\n"
      << "outcome       " << (s.outcome.empty() ? "open" : s.outcome) << "\n"
      << "opened        " << FormatTimestamp(s.opened_at) << "\n"
      << "updated       " << FormatTimestamp(s.updated_at) << " (event " << s.seq << ")\n";
  if (!s.outcome.empty()) out << "closed        " << FormatTimestamp(s.closed_at) << "\n";
  out << "\nparticipants\n";
  Table parts({"  ROLE", "ORGANISATION"});
  for (const runtime::Participant& p : s.participants)
    parts.Add({"  " + p.role, p.organisation});
  parts.Print(out);
  if (!s.tasks.empty()) {
    out << "\ntasks\n";
    Table tasks({"  TASK", "JOIN", "RESPONSES", "STATUS", "ANSWERED BY"});
    for (const runtime::TaskState& t : s.tasks) {
      std::string by;
      for (const runtime::TaskRole& r : t.roles) {
        if (!r.responded) continue;
        if (!by.empty()) by += ", ";
        by += r.role;
      }
      tasks.Add({"  " + t.name, t.join == "count" ? std::to_string(t.need) + " of n" : t.join,
                 std::to_string(t.responses()) + "/" + std::to_string(t.roles.size()),
                 t.complete ? "complete" : "open", by.empty() ? "-" : by});
    }
    tasks.Print(out);
  }
  if (!s.deadlines.empty()) {
    out << "\ndeadlines\n";
    Table dl({"  DEADLINE", "STATUS", "STARTED", "DUE", "EXTENSIONS"});
    for (const runtime::DeadlineState& d : s.deadlines) {
      dl.Add({"  " + d.name, d.status, FormatTimestamp(d.started), FormatTimestamp(d.due),
              std::to_string(d.extensions)});
    }
    dl.Print(out);
  }
  if (s.vars.size() > 0) {
    out << "\nvariables\n";
    for (const Member& m : s.vars.members())
      out << "  " << m.first << " = " << m.second.ToJson() << "\n";
  }
}

}  // namespace amtsweg::cli
