# amtsweg_library(NAME SOURCES ... DEPS ...)
# One module, one target: a static library amtsweg_<NAME> with the alias amtsweg::<NAME>,
# the shared warning flags and the repository root as include root ("engine/common/status.h").
set(AMTSWEG_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
    # GCC 12 reports false -Wrestrict errors inside std::string at -O3 (GCC PR 105651).
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

function(amtsweg_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(amtsweg_${name} STATIC ${ARG_SOURCES})
  add_library(amtsweg::${name} ALIAS amtsweg_${name})
  target_include_directories(amtsweg_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(amtsweg_${name} PRIVATE ${AMTSWEG_WARNINGS})
  target_link_libraries(amtsweg_${name} PUBLIC ${ARG_DEPS})
endfunction()

# amtsweg_executable(NAME SOURCES ... DEPS ...)
function(amtsweg_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${AMTSWEG_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()
