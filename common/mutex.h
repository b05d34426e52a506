// A mutex with Clang's thread-safety annotations, so that `-Wthread-safety`
// (on with clang) checks at compile time that what is GUARDED_BY a mutex is
// touched only with it held. With other compilers the annotations vanish.
//
//   Mutex mu_;
//   std::vector<Job> jobs_ GUARDED_BY(mu_);
//   void Take() REQUIRES(mu_);
//   { MutexLock lock(mu_); jobs_.push_back(j); }
//   while (jobs_.empty()) lock.Wait(cv_);   // a loop, not a predicate lambda:
//                                          // the analysis cannot see into one
//
// Thread-safety: a mutex.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define PB_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PB_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) PB_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY PB_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) PB_THREAD_ANNOTATION(guarded_by(x))
#define REQUIRES(...) PB_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) PB_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) PB_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) PB_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

namespace pillarbox {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds `mu` for its scope; Wait() releases it while waiting.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Waits for a notification of `cv` (spurious wake-ups included: call it
  // in a loop that tests the condition).
  void Wait(std::condition_variable& cv) { cv.wait(lock_); }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace pillarbox
