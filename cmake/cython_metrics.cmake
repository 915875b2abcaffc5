# gankit._metrics: the Cython loops of gankit.metrics (python/gankit/_metrics.pyx).
# Included at the end of the top-level CMakeLists.txt, after find_package(Python).
# Cython comes from the interpreter that builds the wheel (a [build-system] requirement),
# so the generated C++ always matches the Cython the build asked for. Typed memoryviews
# only: no NumPy headers are needed to compile it.

set(GANKIT_METRICS_PYX ${CMAKE_CURRENT_SOURCE_DIR}/python/gankit/_metrics.pyx)
set(GANKIT_METRICS_CPP ${CMAKE_CURRENT_BINARY_DIR}/_metrics.cpp)

execute_process(
  COMMAND ${Python_EXECUTABLE} -m cython --version
  RESULT_VARIABLE _gankit_cython_status
  OUTPUT_VARIABLE _gankit_cython_version
  ERROR_VARIABLE _gankit_cython_version
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_STRIP_TRAILING_WHITESPACE)
if(NOT _gankit_cython_status EQUAL 0)
  message(FATAL_ERROR "gankit: Cython is needed to build gankit._metrics but "
                      "`${Python_EXECUTABLE} -m cython` failed; pip install cython")
endif()
message(STATUS "gankit: ${_gankit_cython_version} for gankit._metrics")

add_custom_command(
  OUTPUT ${GANKIT_METRICS_CPP}
  COMMAND ${Python_EXECUTABLE} -m cython --cplus -3 --fast-fail
          ${GANKIT_METRICS_PYX} -o ${GANKIT_METRICS_CPP}
  DEPENDS ${GANKIT_METRICS_PYX}
  COMMENT "Cythonizing python/gankit/_metrics.pyx"
  VERBATIM)

Python_add_library(_metrics MODULE WITH_SOABI ${GANKIT_METRICS_CPP})
target_compile_features(_metrics PRIVATE cxx_std_17)
# The core's policy: no -march=native, -Ofast or -ffast-math; no contraction into FMAs
# at the compiler's whim.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(_metrics PRIVATE -O3 -ffp-contract=off)
endif()

# OpenMP stays optional, like the core's: without it the prange loops compile serial.
set(GANKIT_METRICS_OPENMP OFF)
if(GANKIT_USE_OPENMP)
  find_package(OpenMP COMPONENTS CXX)
  if(OpenMP_CXX_FOUND)
    target_link_libraries(_metrics PRIVATE OpenMP::OpenMP_CXX)
    set(GANKIT_METRICS_OPENMP ON)
  endif()
endif()
if(GANKIT_METRICS_OPENMP)
  message(STATUS "gankit: gankit._metrics uses OpenMP")
else()
  message(WARNING "gankit: OpenMP not found (or disabled): gankit._metrics builds serial")
endif()

install(TARGETS _metrics LIBRARY DESTINATION gankit)
