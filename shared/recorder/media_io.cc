#include "recorder/media_io.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace recorder {

Result<std::unique_ptr<Y4mReader>> Y4mReader::Open(const std::string& path) {
  std::unique_ptr<Y4mReader> r(new Y4mReader());
  r->path_ = path;
  r->file_.reset(std::fopen(path.c_str(), "rb"));
  if (!r->file_) return IoError("cannot open " + path);
  std::string header;
  for (int c; (c = std::fgetc(r->file_.get())) != '\n';) {
    if (c == EOF || header.size() > 1024) return Corrupt(path + ": no Y4M header line");
    header.push_back(static_cast<char>(c));
  }
  std::istringstream fields(header);
  std::string field;
  fields >> field;
  if (field != "YUV4MPEG2") return Corrupt(path + ": not a YUV4MPEG2 file");
  while (fields >> field) {
    const char tag = field[0];
    const std::string value = field.substr(1);
    if (tag == 'W') r->width_ = std::atoi(value.c_str());
    if (tag == 'H') r->height_ = std::atoi(value.c_str());
    if (tag == 'F') {
      int num = 0, den = 0;
      if (std::sscanf(value.c_str(), "%d:%d", &num, &den) == 2 && num > 0 && den > 0) {
        r->fps_ = static_cast<double>(num) / den;
      }
    }
    if (tag == 'C' && value.rfind("420", 0) != 0) {
      return Unsupported(path + ": Y4M colour space " + value + "; only 4:2:0 8-bit");
    }
  }
  if (r->width_ <= 0 || r->height_ <= 0 || r->fps_ <= 0) {
    return Corrupt(path + ": Y4M header lacks size or frame rate");
  }
  return r;
}

size_t Y4mReader::frame_bytes() const {
  const size_t cw = (width_ + 1) / 2, ch = (height_ + 1) / 2;
  return static_cast<size_t>(width_) * height_ + 2 * cw * ch;
}

Result<bool> Y4mReader::ReadFrame(std::vector<uint8_t>* i420) {
  char tag[6] = {};
  const size_t n = std::fread(tag, 1, 5, file_.get());
  if (n == 0) return false;
  if (n != 5 || std::memcmp(tag, "FRAME", 5) != 0) return Corrupt(path_ + ": bad FRAME marker");
  for (int c; (c = std::fgetc(file_.get())) != '\n';) {  // skip frame parameters
    if (c == EOF) return Corrupt(path_ + ": truncated FRAME line");
  }
  i420->resize(frame_bytes());
  if (std::fread(i420->data(), 1, i420->size(), file_.get()) != i420->size()) {
    return Corrupt(path_ + ": truncated frame");
  }
  return true;
}

VideoFrame I420FrameView(const uint8_t* i420, int width, int height, int64_t timestamp_us) {
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  VideoFrame f;
  f.format = PixelFormat::kI420;
  f.width = width;
  f.height = height;
  f.planes[0] = i420;
  f.planes[1] = i420 + static_cast<size_t>(width) * height;
  f.planes[2] = f.planes[1] + static_cast<size_t>(cw) * ch;
  f.strides[0] = width;
  f.strides[1] = cw;
  f.strides[2] = cw;
  f.timestamp_us = timestamp_us;
  return f;
}

namespace {

uint32_t Le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t{p[3]} << 24; }
uint16_t Le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

}  // namespace

Result<WavAudio> ReadWav(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return IoError("cannot open " + path);
  std::vector<uint8_t> bytes;
  uint8_t buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), file.get())) > 0;) {
    bytes.insert(bytes.end(), buf, buf + n);
  }
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 || std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    return Corrupt(path + ": not a RIFF/WAVE file");
  }
  WavAudio wav;
  int format = 0, bits = 0;
  for (size_t pos = 12; pos + 8 <= bytes.size();) {
    const uint8_t* chunk = bytes.data() + pos;
    const size_t size = Le32(chunk + 4);
    const size_t body = pos + 8;
    if (size > bytes.size() - body) return Corrupt(path + ": truncated chunk");
    if (std::memcmp(chunk, "fmt ", 4) == 0 && size >= 16) {
      format = Le16(chunk + 8);
      wav.channels = Le16(chunk + 10);
      wav.sample_rate = static_cast<int>(Le32(chunk + 12));
      bits = Le16(chunk + 22);
      if (format == 0xFFFE && size >= 40) format = Le16(chunk + 32);  // WAVE_FORMAT_EXTENSIBLE
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (format == 1 && bits == 16) {
        for (size_t i = 0; i + 1 < size; i += 2) {
          wav.samples.push_back(static_cast<int16_t>(Le16(chunk + 8 + i)) / 32768.0f);
        }
      } else if (format == 3 && bits == 32) {
        for (size_t i = 0; i + 3 < size; i += 4) {
          float f;
          const uint32_t u = Le32(chunk + 8 + i);
          std::memcpy(&f, &u, sizeof(f));
          wav.samples.push_back(f);
        }
      } else {
        return Unsupported(path + ": WAV must be 16-bit integer or 32-bit float PCM");
      }
    }
    pos = body + size + (size & 1);
  }
  if (wav.channels <= 0 || wav.sample_rate <= 0) return Corrupt(path + ": no fmt chunk");
  return wav;
}

}  // namespace recorder
