#include "webm_test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>

namespace recorder::webm::testing {
namespace {

struct TempDirHolder {
  std::string path;
  TempDirHolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "webm_test_XXXXXX").string();
    path = mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDirHolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

const std::string kMedia = RECORDER_TEST_MEDIA;

// Makes `name` in TempDir() once with an ffmpeg command whose output goes to stdout.
const std::string& MakeOnce(const std::string& name, const std::string& ffmpeg_args) {
  static std::map<std::string, std::string> made;
  auto it = made.find(name);
  if (it != made.end()) return it->second;
  const std::string path = TempDir() + "/" + name;
  Shell("ffmpeg -nostdin -v error " + ffmpeg_args + " -f webm -live 1 -cluster_time_limit 1000 pipe:1 > " + path);
  return made[name] = path;
}

struct Vint {
  uint64_t value;
  size_t len;
};

Vint ReadVint(const Bytes& b, size_t pos, bool keep_marker) {
  size_t len = 1;
  while (len <= 8 && !(b.at(pos) & (0x80 >> (len - 1)))) ++len;
  uint64_t v = keep_marker ? b.at(pos) : b.at(pos) & (0xFF >> len);
  for (size_t i = 1; i < len; ++i) v = (v << 8) | b.at(pos + i);
  return {v, len};
}

// Calls fn(id, element offset, size field offset, size field length) for each Segment child;
// continues after each child using its declared size (so unknown sizes are not supported).
void ForEachSegmentChild(const Bytes& b, const std::function<void(uint64_t, size_t, size_t, size_t)>& fn) {
  size_t pos = 0;
  const Vint ebml_id = ReadVint(b, pos, true);
  const Vint ebml_size = ReadVint(b, pos + ebml_id.len, false);
  pos += ebml_id.len + ebml_size.len + ebml_size.value;
  const Vint seg_id = ReadVint(b, pos, true);
  const Vint seg_size = ReadVint(b, pos + seg_id.len, false);
  pos += seg_id.len + seg_size.len;
  while (pos < b.size()) {
    const Vint id = ReadVint(b, pos, true);
    const Vint size = ReadVint(b, pos + id.len, false);
    fn(id.value, pos, pos + id.len, size.len);
    pos += id.len + size.len + size.value;
  }
}

Bytes SizeField(uint64_t size) {
  Bytes out;
  if (size < 0x7F) return {static_cast<uint8_t>(0x80 | size)};
  out.push_back(0x01);  // 8-byte size
  for (int shift = 48; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(size >> shift));
  return out;
}

Bytes IdBytes(uint32_t id) {
  Bytes out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (!out.empty() || (id >> shift) & 0xFF) out.push_back(static_cast<uint8_t>(id >> shift));
  }
  return out;
}

}  // namespace

const std::string& TempDir() {
  static TempDirHolder holder;
  return holder.path;
}

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "cannot run: " << command;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  if (rc != 0) ADD_FAILURE() << "exit " << WEXITSTATUS(rc) << ": " << command;
  return out;
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

const std::string& LiveVp9Opus() {
  return MakeOnce("vp9_opus.webm", "-i " + kMedia + "/akiyo_cif.mp4 -i " + kMedia +
                                       "/speech_orig_16k.wav -map 0:v -map 1:a -c:v libvpx-vp9 -deadline "
                                       "realtime -cpu-used 8 -b:v 300k -g 90 -c:a libopus -ar 48000");
}

const std::string& LiveVp9FrequentKeyframes() {
  return MakeOnce("vp9_frequent_keyframes.webm", "-i " + kMedia +
                                                     "/akiyo_cif.mp4 -c:v libvpx-vp9 -deadline realtime "
                                                     "-cpu-used 8 -b:v 300k -g 3 -an");
}

const std::string& LiveOpusOnly() {
  return MakeOnce("opus.webm", "-i " + kMedia + "/speech_orig_16k.wav -c:a libopus -ar 48000");
}

const std::string& LiveVp8Vorbis() {
  return MakeOnce("vp8_vorbis.webm", "-t 4 -i " + kMedia + "/akiyo_cif.mp4 -t 4 -i " + kMedia +
                                         "/speech_orig_16k.wav -map 0:v -map 1:a -c:v libvpx -deadline "
                                         "realtime -cpu-used 8 -b:v 300k -c:a libvorbis");
}

const std::string& LiveVp9OpusUnknownSizeClusters() {
  static const std::string path = [] {
    const std::string p = TempDir() + "/vp9_opus_unknown_clusters.webm";
    WriteFile(p, MakeClusterSizesUnknown(ReadFile(LiveVp9Opus())));
    return p;
  }();
  return path;
}

Bytes MakeClusterSizesUnknown(const Bytes& webm) {
  Bytes out = webm;
  ForEachSegmentChild(webm, [&](uint64_t id, size_t, size_t size_pos, size_t size_len) {
    if (id != 0x1F43B675) return;
    out[size_pos] = static_cast<uint8_t>(0xFF >> (size_len - 1));
    for (size_t i = 1; i < size_len; ++i) out[size_pos + i] = 0xFF;
  });
  return out;
}

std::vector<uint64_t> ClusterOffsets(const Bytes& webm) {
  std::vector<uint64_t> offsets;
  ForEachSegmentChild(webm, [&](uint64_t id, size_t pos, size_t, size_t) {
    if (id == 0x1F43B675) offsets.push_back(pos);
  });
  return offsets;
}

std::vector<std::string> PacketHashes(const std::string& path) {
  std::istringstream lines(Shell("ffmpeg -nostdin -v quiet -i " + path + " -map 0 -c copy -f framemd5 -"));
  std::map<std::string, std::vector<std::string>> by_stream;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    by_stream[line.substr(0, line.find(','))].push_back(line);
  }
  std::vector<std::string> out;
  for (auto& [stream, packets] : by_stream) out.insert(out.end(), packets.begin(), packets.end());
  return out;
}

std::vector<uint64_t> PacketCounts(const std::string& path) {
  std::istringstream lines(
      Shell("ffprobe -v quiet -count_packets -show_entries stream=nb_read_packets -of csv=p=0 " + path));
  std::vector<uint64_t> counts;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) counts.push_back(std::stoull(line));
  }
  return counts;
}

double ProbeDuration(const std::string& path) {
  const std::string out = Shell("ffprobe -v quiet -show_entries format=duration -of csv=p=0 " + path);
  try {
    return std::stod(out);
  } catch (const std::exception&) {
    return -1;  // "N/A"
  }
}

Bytes Element(uint32_t id, const Bytes& payload) { return Concat({IdBytes(id), SizeField(payload.size()), payload}); }

Bytes UnknownSizeElement(uint32_t id, const Bytes& payload) {
  return Concat({IdBytes(id), Bytes{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, payload});
}

Bytes UintElement(uint32_t id, uint64_t value) {
  Bytes payload;
  for (int shift = 56; shift >= 0; shift -= 8) {
    if (!payload.empty() || (value >> shift) & 0xFF || shift == 0)
      payload.push_back(static_cast<uint8_t>(value >> shift));
  }
  return Element(id, payload);
}

Bytes StringElement(uint32_t id, const std::string& value) { return Element(id, Bytes(value.begin(), value.end())); }

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes Vp9TrackEntry(uint64_t number) {
  return Element(0xAE, Concat({UintElement(0xD7, number), UintElement(0x73C5, 100 + number), UintElement(0x83, 1),
                               StringElement(0x86, "V_VP9"),
                               Element(0xE0, Concat({UintElement(0xB0, 64), UintElement(0xBA, 48)}))}));
}

Bytes OpusTrackEntry(uint64_t number) {
  return Element(
      0xAE, Concat({UintElement(0xD7, number), UintElement(0x73C5, 100 + number), UintElement(0x83, 2),
                    StringElement(0x86, "A_OPUS"),
                    Element(0xE1, Concat({Element(0xB5, {0x40, 0xE7, 0x70, 0, 0, 0, 0, 0}), UintElement(0x9F, 1)}))}));
}

Bytes HandMadeLive(const Bytes& track_entries, uint64_t count, const std::function<HandFrame(uint64_t)>& frame) {
  const Bytes unknown_size = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  Bytes out = Concat({WebmHeader(), IdBytes(0x18538067), unknown_size,
                      Element(0x1549A966, UintElement(0x2AD7B1, 1000000)), Element(0x1654AE6B, track_entries)});
  int64_t cluster_ms = -1;
  for (uint64_t i = 0; i < count; ++i) {
    const HandFrame f = frame(i);
    if (cluster_ms < 0 || f.ms - cluster_ms > 32767 || f.ms < cluster_ms) {
      cluster_ms = f.ms;
      const Bytes cluster = Concat({IdBytes(0x1F43B675), unknown_size, UintElement(0xE7, static_cast<uint64_t>(f.ms))});
      out.insert(out.end(), cluster.begin(), cluster.end());
    }
    const int64_t relative = f.ms - cluster_ms;
    const Bytes header = Concat({IdBytes(0xA3), SizeField(4 + f.bytes),
                                 Bytes{static_cast<uint8_t>(0x80 | f.track), static_cast<uint8_t>(relative >> 8),
                                       static_cast<uint8_t>(relative), static_cast<uint8_t>(f.key ? 0x80 : 0)}});
    out.insert(out.end(), header.begin(), header.end());
    const size_t data = out.size();
    out.resize(data + f.bytes);
    for (size_t j = 0; j < f.bytes; ++j) out[data + j] = static_cast<uint8_t>(i + j);
  }
  return out;
}

namespace {

int64_t StatusKib(const char* field) {
  std::ifstream status("/proc/self/status");
  const std::string prefix = std::string(field) + ":";
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stoll(line.substr(prefix.size()));
  }
  ADD_FAILURE() << "no " << field << " in /proc/self/status";
  return -1;
}

}  // namespace

int64_t RssKib() { return StatusKib("VmRSS"); }
int64_t PeakRssKib() { return StatusKib("VmHWM"); }

void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.close();
  if (!clear) ADD_FAILURE() << "cannot reset the peak RSS through /proc/self/clear_refs";
}

Bytes WebmHeader() {
  return Element(0x1A45DFA3,
                 Concat({UintElement(0x4286, 1), UintElement(0x42F7, 1), UintElement(0x42F2, 4), UintElement(0x42F3, 8),
                         StringElement(0x4282, "webm"), UintElement(0x4287, 4), UintElement(0x4285, 2)}));
}

}  // namespace recorder::webm::testing
