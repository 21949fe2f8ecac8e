// finalize: finalizes one live WebM as the server's job does (Finalize into a FileWriter, Sync,
// then Verify of the file written) and prints one JSON line with the wall time of each step and
// the peak memory of the process:
//   {"parse_s","write_s","sync_s","verify_s","total_s","peak_rss_kib","bytes","frames","cue_points"}
// parse_s and write_s are Finalize's two passes; total_s covers opening the files to the end of
// Verify. Driven by bench/finalize/table.mjs.
//
//   finalize --in live.webm --out seekable.webm
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/io.h"
#include "webm/finalize.h"

namespace {

int Fail(const recorder::Status& s) {
  std::cerr << s.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Finalizes one live WebM and prints the time of each step as JSON");
  std::string in, out;
  app.add_option("--in", in, "live WebM")->required();
  app.add_option("--out", out, "seekable WebM to write")->required();
  CLI11_PARSE(app, argc, argv);

  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point from) { return std::chrono::duration<double>(Clock::now() - from).count(); };
  const Clock::time_point started = Clock::now();
  auto live = recorder::OpenFileReader(in);
  if (!live.ok()) return Fail(live.status());
  auto seekable = recorder::FileWriter::Create(out);
  if (!seekable.ok()) return Fail(seekable.status());
  auto info = recorder::webm::Finalize(**live, **seekable);
  if (!info.ok()) return Fail(info.status());
  const Clock::time_point syncing = Clock::now();
  if (auto s = (*seekable)->Sync(); !s.ok()) return Fail(s);
  const double sync_s = since(syncing);
  const Clock::time_point verifying = Clock::now();
  auto written = recorder::OpenFileReader(out);
  if (!written.ok()) return Fail(written.status());
  if (auto s = recorder::webm::Verify(**written, *info); !s.ok()) return Fail(s);
  const double verify_s = since(verifying);
  const double total_s = since(started);

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  uint64_t frames = 0;
  for (const auto& t : info->tracks) frames += t.frames;
  nlohmann::json result = {{"parse_s", info->parse_seconds},
                           {"write_s", info->write_seconds},
                           {"sync_s", sync_s},
                           {"verify_s", verify_s},
                           {"total_s", total_s},
                           {"peak_rss_kib", usage.ru_maxrss},
                           {"bytes", info->output_bytes},
                           {"frames", frames},
                           {"cue_points", info->cue_points},
                           {"duration_ms", info->duration_ms}};
  std::cout << result.dump() << "\n";
  return 0;
}
