#include "ctl/table.h"

#include <algorithm>

namespace fedge::ctl {
namespace {

void AppendLine(const std::vector<std::string>& cells, const std::vector<size_t>& widths, std::string& out) {
  std::string line;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string& cell = i < cells.size() ? cells[i] : std::string();
    line += cell;
    if (i + 1 < widths.size()) line.append(widths[i] - cell.size() + 2, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out += line;
  out += '\n';
}

}  // namespace

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  AppendLine(header_, widths, out);
  for (const auto& row : rows_) AppendLine(row, widths, out);
  return out;
}

std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [key, value] : rows) width = std::max(width, key.size());
  std::string out;
  for (const auto& [key, value] : rows) {
    out += key;
    out += ':';
    if (!value.empty()) out.append(width - key.size() + 1, ' ');
    out += value;
    out += '\n';
  }
  return out;
}

}  // namespace fedge::ctl
