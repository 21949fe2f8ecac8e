#include "test_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace recorder::testing {

Status CollectingSink::OnChunk(const ChunkInfo& info, std::span<const uint8_t> data) {
  if (fail_at >= 0 && static_cast<int>(chunks.size()) >= fail_at) {
    return IoError("test sink refuses chunk " + std::to_string(info.index));
  }
  chunks.push_back({info, std::vector<uint8_t>(data.begin(), data.end())});
  return Status::Ok();
}

std::string WorkDir() {
  const std::string dir = RECORDER_TEST_WORK_DIR;
  std::filesystem::create_directories(dir);
  return dir;
}

int RunCommand(const std::string& command, std::string* output, bool with_stderr) {
  const std::string full = command + (with_stderr ? " 2>&1" : "");
  std::FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  std::string text;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;) text.append(buf.data(), n);
  const int rc = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string PrepareMedia(const std::string& name, const std::string& ffmpeg_args) {
  const std::string path = WorkDir() + "/" + name;
  if (std::filesystem::exists(path)) return path;
  const std::string tmp =
      path + ".tmp." + std::to_string(getpid()) + "." + std::filesystem::path(name).extension().string().substr(1);
  const std::string cmd = "ffmpeg -nostdin -v error -y " + ffmpeg_args + " '" + tmp + "'";
  if (RunCommand(cmd) != 0) return "";
  std::filesystem::rename(tmp, path);
  return path;
}

std::string FourPeopleY4m(int frames) {
  return PrepareMedia("fourpeople_640x480_30_" + std::to_string(frames) + ".y4m",
                      "-i '" RECORDER_TEST_MEDIA
                      "/FourPeople_1280x720_60.mp4' "
                      "-vf fps=30,scale=640:480 -pix_fmt yuv420p -frames:v " +
                          std::to_string(frames));
}

std::string Speech48kWav() {
  return PrepareMedia("speech_48k_mono_f32.wav", "-i '" RECORDER_TEST_MEDIA
                                                 "/speech_orig_16k.wav' -ar 48000 -ac 1 "
                                                 "-c:a pcm_f32le");
}

void WriteChunks(const std::vector<Chunk>& chunks, size_t first, bool with_header, const std::string& path) {
  // ctest runs every test case as its own process, two at a time, and cases of one suite write
  // the same file: write aside and rename, so a reader never sees a half-written file.
  const std::string partial = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    auto put = [&](const Chunk& c) {
      out.write(reinterpret_cast<const char*>(c.bytes.data()), static_cast<std::streamsize>(c.bytes.size()));
    };
    if (with_header && first > 0 && !chunks.empty()) put(chunks[0]);
    for (size_t i = first; i < chunks.size(); ++i) put(chunks[i]);
  }
  std::rename(partial.c_str(), path.c_str());
}

namespace {

nlohmann::json ProbeJson(const std::string& args) {
  std::string out;
  if (RunCommand("ffprobe -v error -of json " + args, &out) != 0) return nullptr;
  return nlohmann::json::parse(out, nullptr, false);
}

}  // namespace

nlohmann::json Probe(const std::string& path) { return ProbeJson("-show_streams -show_format '" + path + "'"); }

int64_t CountFrames(const std::string& path, const char* type) {
  auto j = ProbeJson(std::string("-count_frames -select_streams ") + type + ":0 -show_streams '" + path + "'");
  if (j.is_null() || j["streams"].empty()) return -1;
  return std::stoll(j["streams"][0].value("nb_read_frames", "-1"));
}

int64_t CountPackets(const std::string& path, const char* type) {
  auto j = ProbeJson(std::string("-count_packets -select_streams ") + type + ":0 -show_streams '" + path + "'");
  if (j.is_null() || j["streams"].empty()) return -1;
  return std::stoll(j["streams"][0].value("nb_read_packets", "-1"));
}

static nlohmann::json Packets(const std::string& path, const char* type) {
  return ProbeJson(std::string("-select_streams ") + type + ":0 -show_entries packet=pts_time,duration_time,size '" +
                   path + "'");
}

int64_t StreamBytes(const std::string& path, const char* type, double from_s, double to_s) {
  auto j = Packets(path, type);
  if (j.is_null()) return -1;
  int64_t total = 0;
  for (const auto& p : j["packets"]) {
    const double pts = std::stod(p.value("pts_time", "0"));
    if (pts >= from_s && pts < to_s) total += std::stoll(p.value("size", "0"));
  }
  return total;
}

StreamSpan PacketSpan(const std::string& path, const char* type) {
  StreamSpan span{1e9, -1e9};
  auto j = Packets(path, type);
  if (j.is_null()) return {};
  for (const auto& p : j["packets"]) {
    const double pts = std::stod(p.value("pts_time", "0"));
    const double duration = std::stod(p.value("duration_time", "0"));
    span.start = std::min(span.start, pts);
    span.end = std::max(span.end, pts + duration);
  }
  return span;
}

double PsnrY(const std::string& distorted, const std::string& reference, int width, int height) {
  // WebM stores millisecond times (0, 33, 66, 100 ms at 30 fps) and the psnr filter pairs frames
  // by time, which would compare many frames with their predecessors. Decoding both to raw
  // frames and reading them back at one rate pairs them by index instead.
  std::string raw[2];
  const std::string inputs[2] = {distorted, reference};
  for (int i = 0; i < 2; ++i) {
    // Per process: test cases of one suite run in parallel processes and share reference files.
    raw[i] = inputs[i] + ".psnr" + std::to_string(i) + "." + std::to_string(::getpid()) + ".yuv";
    if (RunCommand("ffmpeg -nostdin -v error -y -i '" + inputs[i] + "' -f rawvideo -pix_fmt yuv420p '" + raw[i] +
                   "'") != 0) {
      return -1;
    }
  }
  const std::string as_raw =
      "-f rawvideo -pix_fmt yuv420p -s " + std::to_string(width) + "x" + std::to_string(height) + " -r 30 -i ";
  std::string out;
  RunCommand("ffmpeg -nostdin -v info " + as_raw + "'" + raw[0] + "' " + as_raw + "'" + raw[1] +
                 "' -lavfi '[0:v][1:v]psnr' -f null - 2>&1 | grep 'PSNR y:'",
             &out);
  std::filesystem::remove(raw[0]);
  std::filesystem::remove(raw[1]);
  const size_t at = out.find("PSNR y:");
  if (at == std::string::npos) return -1;
  return std::stod(out.substr(at + 7));
}

}  // namespace recorder::testing
