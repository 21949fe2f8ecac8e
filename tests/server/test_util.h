// Helpers shared by the server tests: temp folders, files, child commands, waiting, test media.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace recorder::server::testing {

namespace fs = std::filesystem;

// A fresh folder under TMPDIR, removed with its content when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "recorder-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const fs::path& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command line (test inputs only) and captures its output.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A 5 s live WebM (VP9 + Opus, unknown-size segment and clusters) made once per test binary.
inline const std::string& LiveWebm() {
  static const std::string path = [] {
    fs::path out = fs::temp_directory_path() / ("recorder-test-live-" + std::to_string(getpid()) + ".webm");
    std::string media = RECORDER_TEST_MEDIA;
    CommandResult r = RunCommand("ffmpeg -nostdin -v error -y -i " + media + "/akiyo_cif.mp4 -i " + media +
                                 "/speech_orig_16k.wav -t 5 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k "
                                 "-c:a libopus -f webm -live 1 " +
                                 out.string());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::atexit([] {
      std::error_code ec;
      fs::remove(fs::temp_directory_path() / ("recorder-test-live-" + std::to_string(getpid()) + ".webm"), ec);
    });
    return out.string();
  }();
  return path;
}

// "video=150 audio=251": packets per stream as ffprobe counts them.
inline std::string PacketCounts(const std::string& path) {
  CommandResult r =
      RunCommand("ffprobe -v error -count_packets -show_entries stream=codec_type,nb_read_packets -of csv=p=0 " + path);
  return r.exit_code == 0 ? r.output : "ffprobe failed: " + r.output;
}

// Decodes every frame of `path` with ffmpeg (-v error) and returns "stream 0: N frames, ..." or,
// if ffmpeg printed any error, the error text. One process does the decode check and the count.
inline std::string DecodedFrames(const std::string& path) {
  CommandResult r = RunCommand("ffmpeg -nostdin -v error -i " + path + " -map 0 -f framecrc -");
  std::map<int, int> frames;
  std::string errors;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t comma = line.find(',');
    if (comma != std::string::npos && comma > 0 && line.find_first_not_of("0123456789") == comma) {
      ++frames[std::stoi(line.substr(0, comma))];
    } else {
      errors += line + "\n";
    }
  }
  if (r.exit_code != 0 || !errors.empty()) return "decode errors: " + errors;
  std::string out;
  for (const auto& [stream, n] : frames)
    out += "stream " + std::to_string(stream) + ": " + std::to_string(n) + " frames\n";
  return out;
}

}  // namespace recorder::server::testing
