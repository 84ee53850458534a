#include "milp.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bench_balance {
namespace {

namespace fs = std::filesystem;

std::vector<size_t> movable_guests(const pb::ClusterState& state) {
  std::vector<size_t> out;
  for (size_t g = 0; g < state.guests.size(); ++g) {
    const pb::Guest& guest = state.guests[g];
    if (guest.status == pb::GuestStatus::Running && !guest.is_template && guest.lock.empty()) out.push_back(g);
  }
  return out;
}

// Node figures without the movable guests, in GiB.
void write_data(std::ostream& out, const pb::ClusterState& state, const std::vector<size_t>& movable) {
  std::vector<double> mem(state.nodes.size()), disk(state.nodes.size());
  for (size_t n = 0; n < state.nodes.size(); ++n) {
    mem[n] = gib(state.nodes[n].memory_used);
    disk[n] = gib(state.nodes[n].disk_used);
  }
  out << "data;\nparam: G: m d h w :=\n";
  for (size_t k = 0; k < movable.size(); ++k) {
    const pb::Guest& g = state.guests[movable[k]];
    size_t n = node_index(state, g.node);
    mem[n] -= gib(g.memory_used);
    disk[n] -= gib(g.local_disk_bytes);
    out << k + 1 << ' ' << gib(g.memory_used) << ' ' << gib(g.local_disk_bytes) << ' ' << n + 1 << ' '
        << gib(migration_bytes(g)) << '\n';
  }
  out << ";\nparam: N: b c db dc :=\n";
  for (size_t n = 0; n < state.nodes.size(); ++n) {
    const pb::Node& node = state.nodes[n];
    out << n + 1 << ' ' << mem[n] << ' ' << gib(node.memory_total - node.reserve.memory) << ' ' << disk[n]
        << ' ' << gib(node.disk_total - node.reserve.disk) << '\n';
  }
  out << ";\nend;\n";
}

void write_model(std::ostream& out, Objective objective, double max_spread, const std::string& result_path) {
  out << "set G; set N;\n"
         "param m{G}; param d{G}; param h{G}; param w{G};\n"
         "param b{N}; param c{N}; param db{N}; param dc{N};\n"
         "var x{G, N} binary;\n"
         "var u{N};\n"
         "s.t. once{g in G}: sum{n in N} x[g, n] = 1;\n"
         "s.t. usage{n in N}: u[n] = (b[n] + sum{g in G} m[g] * x[g, n]) / c[n];\n"
         "s.t. memory{n in N}: b[n] + sum{g in G} m[g] * x[g, n] <= c[n];\n"
         "s.t. disk{n in N}: db[n] + sum{g in G} d[g] * x[g, n] <= dc[n];\n";
  if (objective == Objective::Spread) {
    out << "var hi; var lo;\n"
           "s.t. upper{n in N}: u[n] <= hi;\n"
           "s.t. lower{n in N}: u[n] >= lo;\n"
           "minimize spread: hi - lo;\n";
  } else if (objective == Objective::Cheapest) {
    // w[g]: GiB copied when guest g leaves its home node h[g].
    out << "var hi; var lo;\n"
           "s.t. upper{n in N}: u[n] <= hi;\n"
           "s.t. lower{n in N}: u[n] >= lo;\n"
           "s.t. bound: hi - lo <= "
        << (max_spread + 1e-6) / 100.0 << ";\n"
           "minimize moved: sum{g in G} w[g] * (1 - x[g, h[g]]);\n";
  } else {
    out << "var mean; var dev{N} >= 0;\n"
           "s.t. average: mean = (sum{n in N} u[n]) / card(N);\n"
           "s.t. above{n in N}: dev[n] >= u[n] - mean;\n"
           "s.t. below{n in N}: dev[n] >= mean - u[n];\n"
           "minimize deviation: sum{n in N} dev[n];\n";
  }
  out << "solve;\n"
      << "printf{g in G, n in N: x[g, n] > 0.5} \"%d %d\\n\", g, n > \"" << result_path << "\";\n";
}

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  size_t got = 0;
  while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  pclose(pipe);
  return output;
}

std::string verdict(const std::string& log) {
  if (log.find("INTEGER OPTIMAL SOLUTION FOUND") != std::string::npos) return "optimal";
  if (log.find("TIME LIMIT EXCEEDED") != std::string::npos) return "time limit";
  if (log.find("NO INTEGER FEASIBLE") != std::string::npos || log.find("NO PRIMAL FEASIBLE") != std::string::npos)
    return "infeasible";
  return "glpsol failed";
}

std::vector<Relocation> read_placement(const std::string& path, const std::vector<size_t>& movable) {
  std::vector<Relocation> out;
  std::ifstream in(path);
  size_t g = 0, n = 0;
  while (in >> g >> n)
    if (g >= 1 && g <= movable.size() && n >= 1) out.push_back({movable[g - 1], n - 1});
  return out;
}

}  // namespace

std::string to_string(Objective objective) {
  switch (objective) {
    case Objective::Spread: return "min(max-min usage)";
    case Objective::AbsDeviation: return "min(sum |usage-mean|)";
    case Objective::Cheapest: return "min(GiB moved) at max-min usage <= bound";
  }
  return "?";
}

std::string find_glpsol() {
  if (const char* env = std::getenv("GLPSOL")) return access(env, X_OK) == 0 ? env : "";
  for (const char* path : {"/usr/bin/glpsol", "/usr/local/bin/glpsol"})
    if (access(path, X_OK) == 0) return path;
  return {};
}

MilpResult solve_milp(const std::string& glpsol, const pb::ClusterState& state, Objective objective,
                      int time_limit_s, double max_spread) {
  MilpResult result;
  std::string dir_template = (fs::temp_directory_path() / "plb-milp-XXXXXX").string();
  if (!mkdtemp(dir_template.data())) {
    result.status = "mkdtemp failed";
    return result;
  }
  fs::path dir(dir_template);
  std::vector<size_t> movable = movable_guests(state);
  {
    std::ofstream model(dir / "model.mod");
    model.precision(12);
    write_model(model, objective, max_spread, (dir / "result.txt").string());
    write_data(model, state, movable);
  }
  Stopwatch watch;
  std::ostringstream cmd;
  cmd << glpsol << " --math " << (dir / "model.mod").string() << " --tmlim " << time_limit_s << " 2>&1";
  std::string log = run(cmd.str());
  result.time = watch.elapsed();  // glpsol runs in a child: wall time is its cost
  result.status = verdict(log);
  result.optimal = result.status == "optimal";
  result.placement = read_placement((dir / "result.txt").string(), movable);
  result.solved = result.placement.size() == movable.size() && !movable.empty();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return result;
}

}  // namespace bench_balance
