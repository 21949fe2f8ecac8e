#include "webm/mkv_io.h"

#include <cstring>
#include <string>

#include "webm/finalize.h"

namespace recorder::webm::internal {

Result<std::unique_ptr<mkvparser::Segment>> ParseHeaders(WindowedSource& src, mkvparser::IMkvReader& reader) {
  long long pos = 0;
  mkvparser::EBMLHeader ebml;
  if (ebml.Parse(&reader, pos) != 0) return Corrupt("no EBML header: not a WebM file");
  if (!ebml.m_docType || (std::strcmp(ebml.m_docType, "webm") != 0 && std::strcmp(ebml.m_docType, "matroska") != 0)) {
    return Corrupt("EBML DocType is not webm");
  }
  mkvparser::Segment* raw = nullptr;
  if (mkvparser::Segment::CreateInstance(&reader, pos, raw) != 0 || raw == nullptr) {
    delete raw;
    return Corrupt("no Segment after the EBML header");
  }
  std::unique_ptr<mkvparser::Segment> segment(raw);
  const long long status = segment->ParseHeaders();
  if (status < 0) return Corrupt("bad Segment headers (libwebm status " + std::to_string(status) + ")");
  if (status > 0 && src.size() > kMaxHeaderBytes) {
    return Corrupt("no Cluster within the first " + std::to_string(kMaxHeaderBytes >> 10) +
                   " KiB: headers that large are not a recording's (about 1 KB)");
  }
  if (status > 0) return Corrupt("file ends inside the Segment headers");
  if (!segment->GetInfo()) return Corrupt("no Segment Info");
  if (!segment->GetTracks() || segment->GetTracks()->GetTracksCount() == 0) return Corrupt("no Tracks");
  if (segment->GetTracks()->GetTracksCount() > kMaxTracks) {
    return Corrupt("the file declares " + std::to_string(segment->GetTracks()->GetTracksCount()) +
                   " tracks, more than the " + std::to_string(kMaxTracks) + " a recording may have");
  }
  return segment;
}

}  // namespace recorder::webm::internal
