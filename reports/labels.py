"""The Chinese words the city's papers use for stored codes."""

from __future__ import annotations

USE = {
    "teaching": "教学楼",
    "dormitory": "宿舍",
    "canteen": "食堂",
    "laboratory": "实验室",
    "library": "图书馆",
    "gym": "体育馆",
    "office": "办公楼",
    "other": "其他",
}
KIND = {
    "kindergarten": "幼儿园",
    "primary": "小学",
    "middle": "中学",
    "vocational": "职业学校",
    "training": "培训学校",
    "university": "高校",
    "other": "其他",
}
OWNERSHIP = {"public": "公办", "private": "民办"}
HAZARD_STATE = {
    "open": "待整改",
    "submitted": "待验收",
    "closed": "已销号",
    "unfixable": "无法整改（停用待拆除）",
}
WALK = {"not_started": "未排查", "in_progress": "排查中", "closed": "已排查销号"}
SOURCE = {"walk": "逐栋排查", "quick": "随手拍"}
ORIGIN = {"self_inspection": "逐栋排查", "quick": "随手拍", "supervision": "督查发现（清单外）"}
FINDING = {
    "listed": "清单内",
    "off_list": "清单外",
    "accident": "按事故对待",
    "rectified_badly": "整改不到位",
    "missed_building": "遗漏建筑",
}
CHANGE_STATE = {"asked": "待审批", "approved": "已批准", "refused": "未批准"}
YES, NO = "是", "否"


def yes_no(value: bool | None) -> str:
    return "" if value is None else (YES if value else NO)


def short_time(iso: str | None) -> str:
    """``2026-11-28T09:00:00+08:00`` → ``2026-11-28 09:00`` (the stored local time)."""
    if not iso:
        return ""
    return iso[:16].replace("T", " ")
