#include "ingest/names.h"

#include <gtest/gtest.h>

#include "storage/paths.h"
#include "test_util.h"

namespace recorder::server {
namespace {

TEST(SanitizeFolderNameTest, SpacesBecomeUnderscoresAndLettersStay) {
  EXPECT_EQ(SanitizeFolderName("Jane Doe"), "Jane_Doe");
  EXPECT_EQ(SanitizeFolderName("  Jane \t  Doe  "), "Jane_Doe");
  EXPECT_EQ(SanitizeFolderName("Jean-Luc O'Brien"), "Jean-Luc_OBrien");
}

TEST(SanitizeFolderNameTest, UnicodeLettersStayReadable) {
  EXPECT_EQ(SanitizeFolderName("Zoë Ünal"), "Zoë_Ünal");
  EXPECT_EQ(SanitizeFolderName("山田 太郎"), "山田_太郎");
  EXPECT_EQ(SanitizeFolderName("Мария Иванова"), "Мария_Иванова");
  EXPECT_EQ(SanitizeFolderName("José\u3000García"), "José_García");  // ideographic space
}

TEST(SanitizeFolderNameTest, TraversalAndSeparatorsCannotEscape) {
  EXPECT_EQ(SanitizeFolderName("../../etc"), "etc");
  EXPECT_EQ(SanitizeFolderName("..\\..\\windows"), "windows");
  EXPECT_EQ(SanitizeFolderName("/"), "candidate");
  EXPECT_EQ(SanitizeFolderName(".."), "candidate");
  EXPECT_EQ(SanitizeFolderName("a/../b"), "a.b");
  EXPECT_EQ(SanitizeFolderName(".hidden"), "hidden");
  EXPECT_EQ(SanitizeFolderName("a\u2215b\uFF0Fc"), "abc");  // look-alike slashes
  for (const char* name : {"../../etc", "a/../b", "x..y", "...", "a . . b"}) {
    std::string out = SanitizeFolderName(name);
    EXPECT_EQ(out.find(".."), std::string::npos) << name;
    EXPECT_EQ(out.find('/'), std::string::npos) << name;
  }
}

TEST(SanitizeFolderNameTest, ControlFormatAndInvalidBytesAreDropped) {
  EXPECT_EQ(SanitizeFolderName(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(SanitizeFolderName("a\x01\x1f\x7f"
                               "b"),
            "ab");
  EXPECT_EQ(SanitizeFolderName("evil\u202Egnp.exe"), "evilgnp.exe");  // bidi override
  EXPECT_EQ(SanitizeFolderName("zero\u200Bwidth"), "zerowidth");
  EXPECT_EQ(SanitizeFolderName("bad\xff\xfe utf8\xc3"), "bad_utf8");
}

TEST(SanitizeFolderNameTest, EmptyOrReservedNamesGetASafeName) {
  EXPECT_EQ(SanitizeFolderName(""), "candidate");
  EXPECT_EQ(SanitizeFolderName("   "), "candidate");
  EXPECT_EQ(SanitizeFolderName("!!!"), "candidate");
  EXPECT_EQ(SanitizeFolderName("api-key"), "api-key_candidate");
}

TEST(SanitizeFolderNameTest, LongNamesAreCutAtACodePointBoundary) {
  std::string name;
  for (int i = 0; i < 100; ++i) name += "é";
  std::string out = SanitizeFolderName(name);
  EXPECT_LE(out.size(), kMaxFolderBytes);
  EXPECT_EQ(out.size() % 2, 0u);  // whole two-byte letters
  EXPECT_EQ(SanitizeFolderName(std::string(500, 'a')).size(), kMaxFolderBytes);
}

TEST(RecordingFileNameTest, KindsTimestampsAndCollisionSuffixes) {
  int64_t t = 1767268800;  // 2026-01-01 12:00:00 UTC
  EXPECT_EQ(RecordingFileName(RecordingKind::kCamera, t, 1), "interview_video_20260101_120000.webm");
  EXPECT_EQ(RecordingFileName(RecordingKind::kScreen, t, 1), "interview_video_20260101_120000_screen.webm");
  EXPECT_EQ(RecordingFileName(RecordingKind::kAudio, t, 1), "interview_audio_20260101_120000.webm");
  EXPECT_EQ(RecordingFileName(RecordingKind::kCamera, t, 2), "interview_video_20260101_120000_2.webm");
  EXPECT_EQ(WithCollisionSuffix("Jane_Doe", 3), "Jane_Doe_3");
}

TEST(ResolveInsideTest, AcceptsPathsInsideAndRejectsEscapes) {
  testing::TempDir dir;
  auto root = std::filesystem::canonical(dir.path());
  EXPECT_TRUE(ResolveInside(root, "Jane_Doe/x.webm").ok());
  EXPECT_FALSE(ResolveInside(root, "../x").ok());
  EXPECT_FALSE(ResolveInside(root, "a/../../x").ok());
  EXPECT_FALSE(ResolveInside(root, "/etc/passwd").ok());
  EXPECT_FALSE(ResolveInside(root, "").ok());
  EXPECT_FALSE(ResolveInside(root, "./x").ok());
  std::filesystem::create_directory_symlink("/tmp", root / "link");
  EXPECT_FALSE(ResolveInside(root, "link/x").ok()) << "a symlink must not lead out of the data folder";
}

}  // namespace
}  // namespace recorder::server
