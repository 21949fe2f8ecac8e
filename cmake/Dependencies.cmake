# Every third-party library as one target name that is the same for the native and the WASM build:
#   deps::vpx deps::opus deps::yuv deps::webm          (both builds)
#   deps::httplib deps::argon2 deps::pocketsphinx deps::pq + find_package targets   (native only)
# Native builds use Debian's -dev packages; WASM builds use what toolchains/wasm-deps.sh built.
# libwebm is compiled here from Debian's source for both, because Debian ships no mkvmuxer headers.

set(LIBWEBM_SOURCE_DIR "${RECORDER_CACHE}/src/libwebm/tree")
if(NOT EXISTS "${LIBWEBM_SOURCE_DIR}/mkvmuxer/mkvmuxer.cc")
  message(FATAL_ERROR "libwebm source not found in ${LIBWEBM_SOURCE_DIR}: run toolchains/setup.sh")
endif()
# Also compiled straight into the fuzzer (tests/webm), for coverage of libwebm's parser.
set(LIBWEBM_SOURCES
  ${LIBWEBM_SOURCE_DIR}/mkvmuxer/mkvmuxer.cc
  ${LIBWEBM_SOURCE_DIR}/mkvmuxer/mkvmuxerutil.cc
  ${LIBWEBM_SOURCE_DIR}/mkvmuxer/mkvwriter.cc
  ${LIBWEBM_SOURCE_DIR}/mkvparser/mkvparser.cc
  ${LIBWEBM_SOURCE_DIR}/mkvparser/mkvreader.cc)
add_library(webm_muxer STATIC ${LIBWEBM_SOURCES})
target_include_directories(webm_muxer SYSTEM PUBLIC ${LIBWEBM_SOURCE_DIR})
set_target_properties(webm_muxer PROPERTIES POSITION_INDEPENDENT_CODE ON)
add_library(deps::webm ALIAS webm_muxer)

if(EMSCRIPTEN)
  set(wasm_prefix "${RECORDER_CACHE}/wasm-deps/${RECORDER_WASM_VARIANT}")
  if(NOT EXISTS "${wasm_prefix}/lib/libvpx.a")
    message(FATAL_ERROR "WASM libraries not found in ${wasm_prefix}: run toolchains/setup.sh")
  endif()
  foreach(lib vpx opus yuv)
    add_library(deps::${lib} STATIC IMPORTED)
    set_target_properties(deps::${lib} PROPERTIES
      IMPORTED_LOCATION "${wasm_prefix}/lib/lib${lib}.a"
      INTERFACE_INCLUDE_DIRECTORIES "${wasm_prefix}/include")
  endforeach()
  return()
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(vpx REQUIRED IMPORTED_TARGET vpx)
pkg_check_modules(opus REQUIRED IMPORTED_TARGET opus)
pkg_check_modules(argon2 REQUIRED IMPORTED_TARGET libargon2)
add_library(deps::vpx ALIAS PkgConfig::vpx)
add_library(deps::opus ALIAS PkgConfig::opus)
add_library(deps::argon2 ALIAS PkgConfig::argon2)
pkg_check_modules(libpq REQUIRED IMPORTED_TARGET libpq)  # the shared index (PostgreSQL)
add_library(deps::pq ALIAS PkgConfig::libpq)
# The built-in transcription engine and its US English model (pocketsphinx-en-us).
# Debian's pocketsphinx.pc names /usr/include/sphinxbase, which libsphinxbase-dev does not install
# (its headers are in the multiarch folder), and CMake refuses an imported target with a missing
# folder: only the folders that exist are kept.
pkg_check_modules(pocketsphinx REQUIRED pocketsphinx)
pkg_get_variable(POCKETSPHINX_MODEL_DIR pocketsphinx modeldir)
set(pocketsphinx_existing_dirs)
foreach(dir ${pocketsphinx_INCLUDE_DIRS})
  if(IS_DIRECTORY "${dir}")
    list(APPEND pocketsphinx_existing_dirs "${dir}")
  endif()
endforeach()
add_library(deps_pocketsphinx INTERFACE)
target_include_directories(deps_pocketsphinx SYSTEM INTERFACE ${pocketsphinx_existing_dirs})
target_link_libraries(deps_pocketsphinx INTERFACE ${pocketsphinx_LINK_LIBRARIES})
add_library(deps::pocketsphinx ALIAS deps_pocketsphinx)

find_library(YUV_LIBRARY NAMES yuv REQUIRED)
find_path(YUV_INCLUDE_DIR NAMES libyuv.h REQUIRED)
add_library(deps::yuv UNKNOWN IMPORTED)
set_target_properties(deps::yuv PROPERTIES
  IMPORTED_LOCATION "${YUV_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${YUV_INCLUDE_DIR}")

find_package(SQLite3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)

# cpp-httplib 0.11.4, as toolchains/setup.sh patched and split it (see toolchains/patches). Poll,
# not select: select() cannot watch descriptors above 1023, and 1000 recordings open more than that.
# A 64 KiB receive buffer reads a 256 KB chunk in 4 reads instead of 64.
set(HTTPLIB_INCLUDE_DIR "${RECORDER_CACHE}/httplib")
if(NOT EXISTS "${HTTPLIB_INCLUDE_DIR}/httplib.cc")
  message(FATAL_ERROR "patched httplib.cc not found in ${HTTPLIB_INCLUDE_DIR}: run toolchains/setup.sh")
endif()
add_library(deps_httplib STATIC "${HTTPLIB_INCLUDE_DIR}/httplib.cc")
target_include_directories(deps_httplib SYSTEM PUBLIC "${HTTPLIB_INCLUDE_DIR}")
target_compile_definitions(deps_httplib PUBLIC CPPHTTPLIB_USE_POLL "CPPHTTPLIB_RECV_BUFSIZ=size_t(65536u)")
target_link_libraries(deps_httplib PUBLIC Threads::Threads)
add_library(deps::httplib ALIAS deps_httplib)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)  # webhook deliveries, the S3 media store
find_package(EXPAT REQUIRED)  # the S3 media store (ListObjectsV2 and error XML)
if(RECORDER_TESTS)
  find_package(GTest REQUIRED)
endif()
if(RECORDER_BENCH)
  find_package(benchmark REQUIRED)
endif()
