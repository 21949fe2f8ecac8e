// Reading raw media files for the native tools and tests: Y4M video, WAV audio.
// Not part of the recorder core (which does no file I/O) and not built for WASM.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "recorder/recorder.h"

namespace recorder {

// Sequential reader of a YUV4MPEG2 file with 4:2:0 8-bit frames.
class Y4mReader {
 public:
  static Result<std::unique_ptr<Y4mReader>> Open(const std::string& path);

  int width() const { return width_; }
  int height() const { return height_; }
  double fps() const { return fps_; }
  size_t frame_bytes() const;  // contiguous I420: Y, then U, then V

  // Reads the next frame into `i420` (resized to frame_bytes()). Returns false at end of file.
  Result<bool> ReadFrame(std::vector<uint8_t>* i420);

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::string path_;
  int width_ = 0;
  int height_ = 0;
  double fps_ = 0;
};

// A VideoFrame (kI420) that borrows a contiguous I420 picture of width x height.
VideoFrame I420FrameView(const uint8_t* i420, int width, int height, int64_t timestamp_us);

struct WavAudio {
  int sample_rate = 0;
  int channels = 0;
  std::vector<float> samples;  // interleaved, [-1, 1]
  int64_t frames() const { return channels ? static_cast<int64_t>(samples.size()) / channels : 0; }
};

// Reads a RIFF/WAVE file holding 16-bit integer or 32-bit float PCM.
Result<WavAudio> ReadWav(const std::string& path);

}  // namespace recorder
