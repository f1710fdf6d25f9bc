// File: ctl/table.h
//
// fedgectl's human-readable output: a plain-text table with a header row,
// columns padded to their widest cell and separated by two spaces, and
// "key: value" blocks for one object.
//
// Usage:
//   Table t({"ID", "STATUS"});
//   t.AddRow({"dev-0", "active"});
//   std::cout << t.Render();
//
// Thread-safety: a Table is not synchronised.
#ifndef FEDGE_CTL_TABLE_H_
#define FEDGE_CTL_TABLE_H_

#include <string>
#include <utility>
#include <vector>

namespace fedge::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header);
  // A row with fewer cells than the header is padded with empty ones; extra
  // cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  // Header and rows, each line ending in '\n', without trailing spaces.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the values aligned after the longest key.
std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_TABLE_H_
