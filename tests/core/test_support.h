// Helpers shared by the recorder core tests: a collecting ChunkSink (the fake), running
// ffmpeg/ffprobe, and preparing input media in the build tree.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recorder/recorder.h"

namespace recorder::testing {

struct Chunk {
  ChunkInfo info;
  std::vector<uint8_t> bytes;
};

// Keeps every chunk in memory. Fails (with kIoError) from the `fail_at`-th chunk on, if set.
class CollectingSink : public ChunkSink {
 public:
  Status OnChunk(const ChunkInfo& info, std::span<const uint8_t> data) override;
  std::vector<Chunk> chunks;
  int fail_at = -1;
};

// Folder for generated files, created on first use (inside the build tree).
std::string WorkDir();

// Runs a shell command; returns its exit code and puts stdout (+ stderr if asked) in *output.
int RunCommand(const std::string& command, std::string* output = nullptr, bool with_stderr = false);

// Makes `name` in WorkDir() by running `ffmpeg_args` (the output path is appended) unless it
// exists already; safe when several test processes race. Returns the path.
std::string PrepareMedia(const std::string& name, const std::string& ffmpeg_args);

// FourPeople at 640x480, 30 fps, 4:2:0, `frames` frames, as Y4M.
std::string FourPeopleY4m(int frames);
// The speech sample resampled to 48 kHz mono float WAV.
std::string Speech48kWav();

// Writes chunks[first..] (plus chunk 0 first if `with_header` and first > 0) to `path`.
void WriteChunks(const std::vector<Chunk>& chunks, size_t first, bool with_header, const std::string& path);

// ffprobe -show_streams -show_format as JSON (null on failure).
nlohmann::json Probe(const std::string& path);
// Frames decoded / packets read for the first stream of `type` ("v" or "a").
int64_t CountFrames(const std::string& path, const char* type);
int64_t CountPackets(const std::string& path, const char* type);
// Sum of packet sizes of the first stream of `type`, of the packets shown in [from_s, to_s).
int64_t StreamBytes(const std::string& path, const char* type, double from_s = -1e9, double to_s = 1e9);
// First pts and end (max pts + duration) in seconds of the first stream of `type`.
struct StreamSpan {
  double start = 0;
  double end = 0;
};
StreamSpan PacketSpan(const std::string& path, const char* type);
// Mean luma PSNR of `distorted` against `reference` (ffmpeg psnr filter), frames paired by
// index; both are width x height. -1 on failure.
double PsnrY(const std::string& distorted, const std::string& reference, int width, int height);

}  // namespace recorder::testing
