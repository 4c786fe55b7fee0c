// What the teacher's app remembers between launches, on this computer only: the teacher's
// user id (to fill in the New class form and pick out their classes) and the class last
// hosted (to open the Host page on it). Never anything secret.

const TEACHER_KEY = "replaydesk.host.teacher";
const LAST_CLASS_KEY = "replaydesk.host.lastClass";

function read(key: string): string | null {
  try {
    const v = window.localStorage.getItem(key);
    return v && v.trim() ? v : null;
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Storage refused (private mode, quota): the form simply starts empty next time.
  }
}

export const hostMemory = {
  teacher: () => read(TEACHER_KEY),
  setTeacher: (uid: string) => write(TEACHER_KEY, uid),
  lastClass: () => read(LAST_CLASS_KEY),
  setLastClass: (classId: string) => write(LAST_CLASS_KEY, classId),
};

/** Whole seconds as `4:05` or `1:02:03`, for a running class's clock. */
export function elapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}
